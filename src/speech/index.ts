/**
 * The speech service shared by every protocol the speech server speaks (legacy WebSocket, OpenAI
 * `/v1/audio/speech`, Wyoming): one Piper engine, one scheduler (first sentences first, fair
 * across clients and protocols), the installed voices, the `speech_*` metrics with a `protocol`
 * label, the bearer-token rule and backpressured delivery.
 */
export { TokenCheck } from './auth.js';
export { writeWithBackpressure, type DeliveryLimits } from './delivery.js';
export { createHostSpeech, type HostSpeech } from './host.js';
export { PROTOCOLS, type Protocol, SpeechMetrics } from './metrics.js';
export { SynthesisScheduler } from './scheduler.js';
export { LATER_CHUNK_GRACE_MS, type SpeechRequest, SpeechService, type SpeechServiceDeps } from './service.js';
export { VoiceCatalog, type VoiceInfo } from './voices.js';
