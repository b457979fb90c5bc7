import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { createTtsComponent, type TtsComponentDeps } from '../../src/tts/component.js';
import { writeTinyVoice } from '../support/tts/tiny-model.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vo-tts-component-'));
  await writeTinyVoice(dir, 'tiny');
});
after(() => rm(dir, { recursive: true, force: true }));

function deps(voice: string): TtsComponentDeps {
  return {
    config: {
      VOICES_DIR: dir,
      TTS_VOICE: voice,
      TTS_MAX_VOICES: 2,
      TTS_WARMUP: true,
      TTS_INTRA_OP_THREADS: 1,
      ESPEAK_LIBRARY: undefined,
      ESPEAK_DATA_PATH: undefined,
    },
    logger: pino({ level: 'silent' }),
    metrics: createMetricsRegistry('legacy'),
  };
}

describe('tts component', () => {
  it('is not ready until the voice is loaded and warmed, then reports it and records the real-time factor', async () => {
    const d = deps('tiny');
    const { component, engine } = createTtsComponent(d);
    assert.equal(component.name, 'tts');
    assert.equal(component.health().ready, false);
    await component.start();
    assert.deepEqual(component.health(), { ready: true, detail: 'loaded' });
    assert.deepEqual(component.status?.().loadedVoices, ['tiny']);
    for await (const _ of engine.synthesize('Counting this one.')) {
      // consume
    }
    const metrics = await d.metrics.metrics();
    assert.match(metrics, /tts_synthesis_rtf_count\{[^}]*voice="tiny"[^}]*\} [2-9]/); // warm-up + request
    await component.stop(Date.now() + 1000);
    assert.equal(component.health().ready, false);
  });

  it('fails start with the download command when the voice is missing, and says so in health', async () => {
    const { component } = createTtsComponent(deps('en_US-missing-medium'));
    await assert.rejects(component.start(), /npm run voices -- download en_US-missing-medium/);
    const health = component.health();
    assert.equal(health.ready, false);
    assert.match(health.detail ?? '', /voice failed to load/);
    await component.stop(Date.now());
  });
});
