import type { Registry } from 'prom-client';
import type { Component } from '../component.js';
import type { Config, Mode } from '../config/schema.js';
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
export function createHostSpeech(ctx: { config: Config; logger: Logger; metrics: Registry; mode: Mode }): HostSpeech {
  const { config } = ctx;
  const engineConfig = { ...config, TTS_THREAD_SPINNING: speechThreadSpinning(config.TTS_THREAD_SPINNING, ctx.mode) };
  const tts = createTtsComponent({ ...ctx, config: engineConfig, logger: ctx.logger.child({ component: 'tts' }) });
  const speech = new SpeechService({
    tts: tts.engine,
    registry: ctx.metrics,
    voicesDir: config.VOICES_DIR,
    defaultVoice: config.TTS_VOICE,
    maxTextChars: config.LEGACY_MAX_TEXT_CHARS,
  });
  return { component: tts.component, speech };
}

/**
 * TTS_THREAD_SPINNING for this process's engine: `auto` spins only in legacy mode, where speech has the cores to
 * itself; the agent's job processes and the local models want them too (spinning measured 25 % slower there).
 */
export function speechThreadSpinning(setting: Config['TTS_THREAD_SPINNING'], mode: Mode): boolean {
  return setting === 'auto' ? mode === 'legacy' : setting;
}
