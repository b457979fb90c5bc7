import { Histogram, type Registry } from 'prom-client';
import type { Component, ComponentHealth } from '../component.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import { type EngineConfig, PiperEngine } from './engine.js';

export interface TtsComponentDeps {
  config: EngineConfig & Pick<Config, 'TTS_WARMUP'>;
  logger: Logger;
  metrics: Registry;
}

/**
 * The engine plus its lifecycle: loads (and warms) TTS_VOICE on start, reports ready once the
 * voice is resident, unloads everything on stop. One per process (see speech/host.ts): every
 * transport, the agent's job processes included, speaks through it.
 *
 * Registers `tts_synthesis_rtf` (seconds of work per second of audio, per sentence; its `_count`
 * is the sentences synthesized): the one real-time-factor series, recorded once per sentence
 * here at the engine, the warm-up sentence included. The legacy server records none of its own.
 */
export function createTtsComponent({ config, logger, metrics }: TtsComponentDeps): { component: Component; engine: PiperEngine } {
  const log = logger; // the app binds component=tts
  const rtf = new Histogram({
    name: 'tts_synthesis_rtf',
    help: 'Piper synthesis real-time factor per sentence (synthesis seconds / audio seconds; < 1 is faster than real time)',
    labelNames: ['voice'],
    buckets: [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5],
    registers: [metrics],
  });
  const warnedMissing = new Set<string>();
  const engine = new PiperEngine(config, {
    onSentence: ({ voice, audioSeconds, synthesisMs }) => {
      if (audioSeconds > 0) rtf.observe({ voice }, synthesisMs / 1000 / audioSeconds);
    },
    onEvict: (voice) => log.info({ voice }, 'voice unloaded to stay within TTS_MAX_VOICES'),
    onPhonemizerCrash: ({ signal, exitCode, during, restartInMs }) =>
      log.warn({ signal, exitCode, during, restartInMs }, 'phonemizer process (espeak-ng) ended unexpectedly; restarting it'),
    onVoiceDied: (voice, err) => log.error({ voice, err: err.message }, 'voice inference thread stopped; reloading the voice'),
    onMissingPhoneme: (voice, symbol) => {
      const key = `${voice}\u0000${symbol}`;
      if (warnedMissing.has(key)) return;
      warnedMissing.add(key);
      log.warn({ voice, symbol }, 'phoneme missing from the voice id map; skipped');
    },
  });

  let state: 'idle' | 'loading' | 'ready' | 'failed' | 'stopped' = 'idle';
  let failure: string | undefined;

  const component: Component = {
    name: 'tts',
    async start() {
      state = 'loading';
      const started = performance.now();
      try {
        await engine.load(config.TTS_VOICE, config.TTS_WARMUP);
      } catch (err) {
        state = 'failed';
        failure = (err as Error).message;
        throw err;
      }
      state = 'ready';
      const { modelRewrites } = await engine.voiceInfo(config.TTS_VOICE);
      log.info(
        { voice: config.TTS_VOICE, voicesDir: config.VOICES_DIR, warmup: config.TTS_WARMUP, modelRewrites, ms: Math.round(performance.now() - started) },
        'tts voice loaded',
      );
    },
    async stop() {
      state = 'stopped';
      await engine.close();
    },
    health(): ComponentHealth {
      if (state === 'ready') {
        const problems = engine.voiceProblems();
        return problems.length > 0 ? { ready: false, detail: problems.join('; ') } : { ready: true, detail: 'loaded' };
      }
      return { ready: false, detail: state === 'failed' ? `voice failed to load: ${failure}` : state };
    },
    status() {
      return { state, defaultVoice: config.TTS_VOICE, loadedVoices: engine.loadedVoices(), maxVoices: config.TTS_MAX_VOICES };
    },
  };
  return { component, engine };
}
