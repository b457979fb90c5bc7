import type { Registry } from 'prom-client';
import type { Component } from '../component.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import { createTtsComponent } from '../tts/component.js';
import { SpeechService } from './service.js';

export interface HostSpeech {
  /** Loads and warms TTS_VOICE on start; unloads on stop. Start it before the transports that use `speech`. */
  component: Component;
  speech: SpeechService;
}

/**
 * The one Piper engine of this process and the speech service that shares it, for every transport
 * of the mode: the legacy WebSocket, OpenAI HTTP, Wyoming TCP and the agent job processes.
 */
export function createHostSpeech(ctx: { config: Config; logger: Logger; metrics: Registry }): HostSpeech {
  const { config } = ctx;
  const tts = createTtsComponent({ ...ctx, logger: ctx.logger.child({ component: 'tts' }) });
  const speech = new SpeechService({
    tts: tts.engine,
    registry: ctx.metrics,
    voicesDir: config.VOICES_DIR,
    defaultVoice: config.TTS_VOICE,
    maxTextChars: config.LEGACY_MAX_TEXT_CHARS,
  });
  return { component: tts.component, speech };
}
