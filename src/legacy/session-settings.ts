import type { Logger } from '../ops/logger.js';
import type { SpeechSynthesizer } from '../tts/types.js';
import type { FrameSender } from './frame-sender.js';
import { type ConfigureMessage, type ErrorCode, FRAME_MS, SAMPLE_RATE } from './protocol.js';

export interface SessionSettingsDeps {
  sessionId: string;
  tts: SpeechSynthesizer;
  sender: FrameSender;
  log: Logger;
  sessionEnded(): boolean;
  send(message: object): void;
  sendError(code: ErrorCode, message: string): void;
}

/** What the client chose with `configure`: extension events, binary audio, default voice and speed. */
export class SessionSettings {
  utteranceEvents = false;
  voice: string | undefined;
  speed: number | undefined;

  constructor(private readonly deps: SessionSettingsDeps) {}

  /** Applies a `configure` message and answers with `configured`. */
  configure(message: ConfigureMessage): void {
    if (message.utterance_events !== undefined) this.utteranceEvents = message.utterance_events;
    if (message.binary_audio !== undefined) this.deps.sender.binaryAudio = message.binary_audio;
    if (message.speed !== undefined) this.speed = message.speed;
    const voice = message.voice;
    if (voice === undefined) {
      this.sendConfigured();
      return;
    }
    // the voice becomes the default only once it is known to load; the reply waits for that
    this.deps.tts.sampleRate(voice).then(
      () => {
        this.voice = voice;
        this.sendConfigured();
      },
      (err: unknown) => {
        this.deps.log.info({ err, voice }, 'requested voice is not available');
        const kept = this.voice ? JSON.stringify(this.voice) : 'the default voice';
        this.deps.sendError('VOICE_UNAVAILABLE', `voice ${JSON.stringify(voice)} is not available; keeping ${kept}`);
        this.sendConfigured();
      },
    );
  }

  /** The settings as reported in `configured` and `stats`. */
  describe(): { utterance_events: boolean; binary_audio: boolean; voice: string | null; speed: number | null } {
    return {
      utterance_events: this.utteranceEvents,
      binary_audio: this.deps.sender.binaryAudio,
      voice: this.voice ?? null,
      speed: this.speed ?? null,
    };
  }

  private sendConfigured(): void {
    if (this.deps.sessionEnded()) return;
    this.deps.send({ type: 'configured', session_id: this.deps.sessionId, ...this.describe(), sample_rate: SAMPLE_RATE, frame_ms: FRAME_MS });
  }
}
