import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { createTtsComponent } from '../../src/tts/component.js';
import { PiperEngine } from '../../src/tts/engine.js';
import { InvalidVoiceNameError, VoiceLoadError, VoiceNotFoundError } from '../../src/tts/errors.js';
import type { InferenceWorker } from '../../src/tts/inference-worker.js';
import { writeTinyVoice, tinyEngineConfig } from '../support/tts/tiny-model.js';
import { VoiceCache, type VoiceCacheOptions } from '../../src/tts/voice-cache.js';
import { checkVoiceInstalled, loadVoice, type PiperVoice } from '../../src/tts/voice.js';

/** Just enough of a PiperVoice for the cache: alive, onDeath, release. */
class FakeVoice {
  alive = true;
  released = false;
  private listeners: Array<(err: Error) => void> = [];
  constructor(readonly name: string) {}
  onDeath(listener: (err: Error) => void): void {
    this.listeners.push(listener);
  }
  die(): void {
    this.alive = false;
    for (const l of this.listeners.splice(0)) l(new Error('inference worker stopped'));
  }
  async release(): Promise<void> {
    this.released = true;
  }
}

const INSTALLED = new Set(['default', 'a', 'b', 'c', 'broken']);

function fakeCache(overrides: Partial<VoiceCacheOptions> = {}) {
  const loads: string[] = [];
  const voices = new Map<string, FakeVoice>();
  const evicted: string[] = [];
  const died: string[] = [];
  const cache = new VoiceCache({
    maxVoices: 2,
    pinned: 'default',
    loader: async (name) => {
      loads.push(name);
      await new Promise((r) => setTimeout(r, 2));
      if (name === 'broken') throw new VoiceLoadError('broken voice', name);
      const v = new FakeVoice(name);
      voices.set(name, v);
      return v as unknown as PiperVoice;
    },
    validate: async (name) => {
      if (!/^[a-z]+$/.test(name)) throw new InvalidVoiceNameError(`bad name ${name}`, name);
      if (!INSTALLED.has(name)) throw new VoiceNotFoundError(`voice ${name} is not installed`, name);
    },
    onEvict: (name) => evicted.push(name),
    onDeath: (name) => died.push(name),
    ...overrides,
  });
  const use = async (name: string) => (await cache.acquire(name)).release();
  return { cache, loads, voices, evicted, died, use };
}

describe('VoiceCache rules', () => {
  it('refuses unknown and invalid names before they touch the cache; a flood of them changes nothing', async () => {
    const { cache, loads, use } = fakeCache();
    await use('default');
    await use('a');
    const before = cache.loaded();
    await assert.rejects(cache.acquire('missing'), VoiceNotFoundError);
    await assert.rejects(cache.acquire('../etc/passwd'), InvalidVoiceNameError);
    const flood = await Promise.allSettled(Array.from({ length: 2000 }, (_, i) => cache.acquire(i % 2 ? `bogus${'x'.repeat(i % 7)}` : `../${i}`)));
    assert.ok(flood.every((r) => r.status === 'rejected'));
    assert.deepEqual(cache.loaded(), before, 'same voices, same order');
    assert.deepEqual(loads, ['default', 'a'], 'nothing else was loaded');
  });

  it('never evicts the default voice', async () => {
    const { cache, use, voices, evicted } = fakeCache({ maxVoices: 1 });
    await use('default');
    await use('a');
    await use('b');
    assert.deepEqual(cache.loaded(), ['default']);
    assert.deepEqual(evicted, ['a', 'b']);
    assert.equal(voices.get('default')!.released, false);
    assert.equal(voices.get('a')!.released, true);
  });

  it('never evicts a voice with an active lease; it goes once released if the cache is over its size', async () => {
    const { cache, use, voices } = fakeCache({ maxVoices: 2 });
    await use('default');
    const leaseA = await cache.acquire('a');
    await use('b'); // over size: a is leased, default pinned, b in use -> nothing can go yet, then b goes
    assert.deepEqual(cache.loaded(), ['default', 'a']);
    const leaseC = await cache.acquire('c'); // a and c leased: the cache stays over size for now
    assert.deepEqual(cache.loaded(), ['default', 'a', 'c']);
    assert.equal(voices.get('a')!.released, false);
    leaseA.release();
    assert.deepEqual(cache.loaded(), ['default', 'c']);
    assert.equal(voices.get('a')!.released, true);
    assert.equal(voices.get('c')!.released, false);
    leaseC.release();
    assert.deepEqual(cache.loaded(), ['default', 'c']);
  });

  it('evicts nothing for a voice that fails to load', async () => {
    const { cache, use, evicted } = fakeCache({ maxVoices: 2 });
    await use('default');
    await use('a');
    await assert.rejects(cache.acquire('broken'), VoiceLoadError);
    assert.deepEqual(cache.loaded(), ['default', 'a']);
    assert.deepEqual(evicted, []);
  });

  it('drops a voice whose inference thread died and loads it again on next use', async () => {
    const { cache, use, voices, loads, died } = fakeCache();
    await use('a');
    const first = voices.get('a')!;
    first.die();
    assert.deepEqual(died, ['a']);
    assert.deepEqual(cache.loaded(), []);
    assert.equal(first.released, true);
    await use('a');
    assert.deepEqual(loads, ['a', 'a']);
    assert.notEqual(voices.get('a'), first);
    // a voice found dead on acquire (before its death was reported) is replaced too
    voices.get('a')!.alive = false;
    await use('a');
    assert.equal(loads.length, 3);
  });
});

describe('voice files and worker death (tiny model)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vo-voice-cache-'));
    await writeTinyVoice(dir, 'tiny');
    await writeTinyVoice(dir, 'half');
    await unlink(join(dir, 'half.onnx.json'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('checks names and files cheaply, with typed errors', async () => {
    await checkVoiceInstalled(dir, 'tiny');
    for (const bad of ['', '../tiny', 'a/b', '.hidden', 'a..b', 'x'.repeat(300), 'tiny\u0000', 'tiny voice']) {
      await assert.rejects(checkVoiceInstalled(dir, bad), InvalidVoiceNameError, JSON.stringify(bad));
    }
    await assert.rejects(
      checkVoiceInstalled(dir, 'half'),
      (err: Error) => err instanceof VoiceNotFoundError && /half\.onnx\.json is missing/.test(err.message),
    );
    await assert.rejects(checkVoiceInstalled(dir, 'nobody'), (err: Error) => !(err instanceof InvalidVoiceNameError) && err instanceof VoiceNotFoundError);
    // the message never echoes a huge hostile name in full
    await assert.rejects(checkVoiceInstalled(dir, `../${'y'.repeat(10_000)}`), (err: Error) => err.message.length < 300);
  });

  it('reloads a voice whose inference worker thread died; health says so meanwhile; later utterances work', async () => {
    const config = {
      VOICES_DIR: dir,
      TTS_VOICE: 'tiny',
      TTS_MAX_VOICES: 2,
      TTS_WARMUP: false,
      TTS_INTRA_OP_THREADS: 1,
      ESPEAK_LIBRARY: undefined,
      ESPEAK_DATA_PATH: undefined,
    };
    const { component, engine } = createTtsComponent({ config, logger: pino({ level: 'silent' }), metrics: createMetricsRegistry('legacy') });
    try {
      await component.start();
      assert.deepEqual(component.health(), { ready: true, detail: 'loaded' });
      const worker = await workerOf(engine, 'tiny');
      // a sentence in flight when the thread dies fails; the engine does not
      const inFlight = (async () => {
        for await (const _ of engine.synthesize('One sentence. Another sentence. A third one.')) await worker.terminate();
      })();
      await assert.rejects(inFlight, /inference worker stopped/);
      const health = component.health();
      assert.equal(health.ready, false);
      assert.match(health.detail ?? '', /voice tiny: its inference thread stopped; reloading/);
      await waitFor(() => component.health().ready, 5000);
      assert.deepEqual(component.health(), { ready: true, detail: 'loaded' });
      let chunks = 0;
      for await (const _ of engine.synthesize('Working again.')) chunks++;
      assert.equal(chunks, 1);
      assert.notEqual(await workerOf(engine, 'tiny'), worker, 'a new worker');
    } finally {
      await component.stop(Date.now() + 1000);
    }
  });

  it('reloads on next use when nobody reloads it first (engine without the component)', async () => {
    const engine = new PiperEngine(tinyEngineConfig(dir));
    try {
      await engine.load();
      await (await workerOf(engine, 'tiny')).terminate();
      let chunks = 0;
      for await (const _ of engine.synthesize('Right after the crash.')) chunks++;
      assert.equal(chunks, 1);
    } finally {
      await engine.close();
    }
  });
});

/** The inference worker of a loaded voice (reaching into private fields: test only). */
async function workerOf(engine: PiperEngine, voice: string): Promise<InferenceWorker> {
  const lease = await (engine as unknown as { cache: VoiceCache }).cache.acquire(voice);
  lease.release();
  return (lease.voice as unknown as { worker: InferenceWorker }).worker;
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('VoiceCache with real voices (tiny model, real loader and inference threads)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vo-voice-cache-real-'));
    for (const name of ['a', 'b', 'c']) await writeTinyVoice(dir, name, { phonemeType: 'text' });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function realCache(options: Partial<VoiceCacheOptions> = {}) {
    const loads: string[] = [];
    const cache = new VoiceCache({
      maxVoices: 2,
      loader: (name, loadOptions) => {
        loads.push(name);
        return loadVoice(dir, name, loadOptions);
      },
      loadOptions: { intraOpThreads: 1, allowSpinning: false },
      validate: (name) => checkVoiceInstalled(dir, name),
      ...options,
    });
    const use = async (name: string) => {
      const lease = await cache.acquire(name);
      lease.release();
      return lease.voice;
    };
    return { cache, loads, use };
  }

  it('evicts the least recently used voice: using a voice again moves it to the back of the line', async () => {
    const evicted: string[] = [];
    const { cache, use } = realCache({ onEvict: (name) => evicted.push(name) });
    try {
      const a = await use('a');
      const b = await use('b');
      assert.equal(await use('a'), a, 'a is still loaded: the same voice');
      const c = await use('c'); // over size: b was used least recently
      assert.deepEqual(evicted, ['b']);
      assert.deepEqual(cache.loaded(), ['a', 'c']);
      assert.equal(b.alive, false, 'the evicted voice was unloaded');
      assert.equal(a.alive && c.alive, true);
    } finally {
      await cache.clear();
    }
  });

  it('requests for a voice that is loading share one load', async () => {
    const { cache, loads } = realCache();
    try {
      const leases = await Promise.all(Array.from({ length: 5 }, () => cache.acquire('a')));
      assert.deepEqual(loads, ['a']);
      assert.ok(leases.every((l) => l.voice === leases[0]!.voice));
      for (const lease of leases) lease.release();
      assert.equal(leases[0]!.voice.alive, true, 'still cached after the last release');
    } finally {
      await cache.clear();
    }
  });

  it('a voice that failed to load is not cached: the next request loads it again', async () => {
    const { cache, loads, use } = realCache();
    try {
      await writeTinyVoice(dir, 'late', { phonemeType: 'text' });
      const good = await readFile(join(dir, 'late.onnx.json'), 'utf8');
      await writeFile(join(dir, 'late.onnx.json'), '{ not json');
      await assert.rejects(cache.acquire('late'), VoiceLoadError);
      assert.deepEqual(cache.loaded(), []);
      await writeFile(join(dir, 'late.onnx.json'), good);
      const voice = await use('late');
      assert.equal(voice.alive, true);
      assert.deepEqual(loads, ['late', 'late']);
      assert.deepEqual(cache.loaded(), ['late']);
    } finally {
      await cache.clear();
    }
  });

  it('clear() unloads idle voices at once and a leased voice when its lease ends, not before', async () => {
    const { cache, use } = realCache();
    const idle = await use('a');
    const lease = await cache.acquire('b');
    await cache.clear();
    assert.deepEqual(cache.loaded(), []);
    assert.equal(idle.alive, false);
    assert.equal(lease.voice.alive, true, 'a voice in use was unloaded under its user');
    assert.ok((await lease.voice.infer([1, 0, 20, 0, 2], { noiseScale: 0.667, lengthScale: 1, noiseW: 0.8 }, undefined)).length > 0);
    lease.release();
    await waitFor(() => !lease.voice.alive, 5000);
  });
});
