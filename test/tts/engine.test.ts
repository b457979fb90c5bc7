import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type EngineConfig, PiperEngine, peakNormalize } from '../../src/tts/engine.js';
import { UnknownSpeakerError, VoiceLoadError, VoiceNotFoundError } from '../../src/tts/errors.js';
import { HOP, tinyEngineConfig, writeTinyVoice } from '../support/tts/tiny-model.js';
import type { SpeechChunk, SynthesisOptions } from '../../src/tts/types.js';

let dir: string;
const engines: PiperEngine[] = [];

function engine(overrides: Partial<EngineConfig> = {}, hooks = {}): PiperEngine {
  const e = new PiperEngine(tinyEngineConfig(dir, overrides), hooks);
  engines.push(e);
  return e;
}

async function collect(e: PiperEngine, text: string, options: SynthesisOptions = {}): Promise<SpeechChunk[]> {
  const chunks: SpeechChunk[] = [];
  for await (const c of e.synthesize(text, options)) chunks.push(c);
  return chunks;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vo-tts-'));
  await writeTinyVoice(dir, 'tiny');
  await writeTinyVoice(dir, 'tiny-multi', { multiSpeaker: true });
  await writeTinyVoice(dir, 'tiny-text', { phonemeType: 'text', sampleRate: 22050 });
  await writeTinyVoice(dir, 'tiny-b');
});

after(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('PiperEngine on a tiny model with Piper’s signature', () => {
  it('yields one chunk per sentence, each exactly ids × hop samples long at the voice rate', async () => {
    const e = engine();
    const text = 'Hello there. How are you? Fine, thanks!';
    const sentences = await e.phonemize(text);
    assert.equal(sentences.length, 3);
    const chunks = await collect(e, text);
    assert.equal(chunks.length, 3);
    chunks.forEach((c, i) => {
      assert.equal(c.sampleRate, 16000);
      assert.equal(c.pcm.length, sentences[i]!.ids.length * HOP);
      assert.ok(c.synthesisMs >= 0);
    });
    assert.deepEqual(
      chunks.map((c) => c.text),
      ['Hello there.', 'How are you?', 'Fine, thanks!'],
    );
  });

  it('scales duration with lengthScale (speed) and keeps the voice default otherwise', async () => {
    const e = engine();
    const [normal] = await collect(e, 'Testing speed.');
    const [slow] = await collect(e, 'Testing speed.', { lengthScale: 2 });
    const [fast] = await collect(e, 'Testing speed.', { lengthScale: 0.5 });
    assert.equal(slow!.pcm.length, normal!.pcm.length * 2);
    assert.equal(fast!.pcm.length, normal!.pcm.length / 2);
  });

  it('passes the speaker id to multi-speaker voices, by name or by id', async () => {
    const e = engine({ TTS_VOICE: 'tiny-multi' });
    const [alice] = await collect(e, 'Speaker test.', { speaker: 'alice' });
    const [bob] = await collect(e, 'Speaker test.', { speaker: 'bob' });
    const [bobById] = await collect(e, 'Speaker test.', { speaker: 1 });
    const [defaultSpeaker] = await collect(e, 'Speaker test.');
    assert.deepEqual(bob!.pcm, bobById!.pcm);
    assert.notDeepEqual(alice!.pcm, bob!.pcm);
    assert.deepEqual(defaultSpeaker!.pcm, alice!.pcm);
    await assert.rejects(collect(e, 'Speaker test.', { speaker: 'mallory' }), UnknownSpeakerError);
    await assert.rejects(collect(e, 'Speaker test.', { speaker: 7 }), UnknownSpeakerError);
  });

  it('feeds different text as different ids (the model output changes)', async () => {
    const e = engine();
    const [a] = await collect(e, 'Alpha.');
    const [b] = await collect(e, 'Bravo.');
    assert.notDeepEqual(a!.pcm.subarray(0, 500), b!.pcm.subarray(0, 500));
  });

  it('peak-normalises to full scale like the reference', async () => {
    const e = engine();
    const [c] = await collect(e, 'Loud and clear.');
    const peak = c!.pcm.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(peak >= 32700 && peak <= 32767, `peak ${peak}`);
    // quiet input is boosted at most 100x (scale = 32767 / max(0.01, peak))
    assert.deepEqual(peakNormalize(Float32Array.of(0.001, -0.002)), Int16Array.of(3276, -6553));
    assert.deepEqual(peakNormalize(Float32Array.of(0.5, -0.25)), Int16Array.of(32767, -16383));
  });

  it('yields nothing for empty or whitespace-only text', async () => {
    const e = engine({ TTS_VOICE: 'not-installed' });
    assert.deepEqual(await collect(e, ''), []);
    assert.deepEqual(await collect(e, '   \n\t '), []);
  });

  it('delivers the first sentence before synthesizing the next', async () => {
    let synthesized = 0;
    const e = engine({}, { onSentence: () => synthesized++ });
    const seen: number[] = [];
    for await (const _ of e.synthesize('One sentence here. Another one there. And a third.')) {
      seen.push(synthesized);
    }
    assert.equal(seen[0], 1, 'only the first sentence was synthesized when it arrived');
    assert.equal(synthesized, 3);
  });

  it('rejects with AbortError when aborted before or during synthesis, and yields nothing after', async () => {
    const e = engine();
    const early = new AbortController();
    early.abort();
    await assert.rejects(collect(e, 'Never spoken.', { signal: early.signal }), { name: 'AbortError' });

    const mid = new AbortController();
    const got: SpeechChunk[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of e.synthesize('First part. Second part. Third part.', { signal: mid.signal })) {
          got.push(c);
          mid.abort();
        }
      })(),
      { name: 'AbortError' },
    );
    assert.equal(got.length, 1);

    // aborting while a sentence is being synthesized rejects at once
    const during = new AbortController();
    const it = e.synthesize('A sentence in flight.', { signal: during.signal })[Symbol.asyncIterator]();
    const next = it.next();
    during.abort();
    await assert.rejects(next, { name: 'AbortError' });
    // the engine still works afterwards
    assert.equal((await collect(e, 'Still alive.')).length, 1);
  });

  it('supports phoneme_type "text" voices (code points, one sentence)', async () => {
    const e = engine({ TTS_VOICE: 'tiny-text' });
    const [s] = await e.phonemize('abc');
    // ^ _ a _ b _ c _ $ with the tiny map (a = 14, b = 15, c = 16)
    assert.deepEqual(s!.ids, [1, 0, 14, 0, 15, 0, 16, 0, 2]);
    const chunks = await collect(e, 'Plain text voice. Still one chunk.');
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0]!.sampleRate, 22050);
    assert.equal(await e.sampleRate('tiny-text'), 22050);
  });

  it('keeps at most TTS_MAX_VOICES voices loaded, least recently used out, the default voice never', async () => {
    const e = engine({ TTS_MAX_VOICES: 2 });
    await e.load('tiny');
    await e.load('tiny-b');
    await e.load('tiny-text');
    assert.deepEqual(e.loadedVoices(), ['tiny', 'tiny-text']); // tiny (TTS_VOICE) is older but stays
    assert.equal((await collect(e, 'Reloaded.', { voice: 'tiny-b' })).length, 1);
    assert.deepEqual(e.loadedVoices(), ['tiny', 'tiny-b']);
    // with room for one voice only, another voice is unloaded as soon as it is no longer used
    const one = engine({ TTS_MAX_VOICES: 1 });
    await one.load('tiny');
    assert.equal((await collect(one, 'Borrowed.', { voice: 'tiny-b' })).length, 1);
    assert.deepEqual(one.loadedVoices(), ['tiny']);
  });
});

describe('voice files', () => {
  it('names the download command when a voice is missing', async () => {
    const e = engine({ TTS_VOICE: 'en_US-nobody-medium' });
    await assert.rejects(collect(e, 'Hello.'), (err: Error) => {
      assert.ok(err instanceof VoiceNotFoundError);
      assert.match(err.message, /npm run voices -- download en_US-nobody-medium/);
      return true;
    });
  });

  it('reports a corrupt config and a corrupt model as VoiceLoadError, never a crash', async () => {
    await writeTinyVoice(dir, 'bad-json');
    await writeFile(join(dir, 'bad-json.onnx.json'), '{ "audio": ');
    await writeTinyVoice(dir, 'bad-fields');
    await writeFile(join(dir, 'bad-fields.onnx.json'), JSON.stringify({ audio: { sample_rate: 'fast' } }));
    await writeTinyVoice(dir, 'bad-model');
    await writeFile(join(dir, 'bad-model.onnx'), Buffer.from('this is not an onnx model'));
    const e = engine();
    for (const [voice, pattern] of [
      ['bad-json', /not valid JSON/],
      ['bad-fields', /not a Piper voice config.*sample_rate/],
      ['bad-model', /not a loadable ONNX model/],
    ] as const) {
      await assert.rejects(collect(e, 'Hello.', { voice }), (err: Error) => {
        assert.ok(err instanceof VoiceLoadError, `${voice}: ${err.name}`);
        assert.match(err.message, pattern);
        return true;
      });
    }
  });

  it('rejects voice names that try to leave the voices folder', async () => {
    const e = engine();
    await assert.rejects(collect(e, 'Hello.', { voice: '../etc/passwd' }), VoiceNotFoundError);
  });
});

describe('bounded work per inference', () => {
  const phonemesOf = (ids: number[]) => (ids.length - 3) / 2; // ^ _ (p _)* $

  it('cuts a sentence without punctuation into chunks of at most TTS_MAX_PHONEMES_PER_CHUNK phonemes, one inference each', async () => {
    let inferences = 0;
    const e = engine({ TTS_MAX_PHONEMES_PER_CHUNK: 60 }, { onSentence: () => inferences++ });
    const text = Array.from({ length: 80 }, (_, i) => ['and', 'then', 'we', 'walked', 'along', 'slowly'][i % 6]).join(' ');
    const pieces = await e.phonemize(text);
    assert.ok(pieces.length >= 5, `${pieces.length} chunks`);
    for (const p of pieces) assert.ok(phonemesOf(p.ids) <= 60 && phonemesOf(p.ids) > 0, `${phonemesOf(p.ids)} phonemes`);
    const chunks = await collect(e, text);
    assert.equal(chunks.length, pieces.length);
    assert.equal(inferences, pieces.length);
    for (const [i, c] of chunks.entries()) assert.equal(c.pcm.length, pieces[i]!.ids.length * HOP);
    // the chunks' display texts put together are the sentence
    assert.equal(chunks.map((c) => c.text).join(' '), text);
  });

  it('leaves sentences under the limit alone (the default is 400 phonemes)', async () => {
    const e = engine();
    const text = 'Hello there. How are you? Fine, thanks!';
    const ours = await e.phonemize(text);
    const unbounded = await engine({ TTS_MAX_PHONEMES_PER_CHUNK: 5000 }).phonemize(text);
    assert.deepEqual(ours, unbounded);
    const long = await e.phonemize('word '.repeat(2000));
    for (const p of long) assert.ok(phonemesOf(p.ids) <= 400);
  });

  it('clamps the length scale to TTS_MAX_LENGTH_SCALE (default 4) so a tiny speed cannot multiply the work', async () => {
    const e = engine();
    const [normal] = await collect(e, 'Testing speed.');
    const [slowest] = await collect(e, 'Testing speed.', { lengthScale: 100 });
    assert.equal(slowest!.pcm.length, normal!.pcm.length * 4);
    const [two] = await collect(engine({ TTS_MAX_LENGTH_SCALE: 2 }), 'Testing speed.', { lengthScale: 3 });
    assert.equal(two!.pcm.length, normal!.pcm.length * 2);
  });

  it('speaks hostile text: stacked suffixes that crash espeak-ng, punctuation floods, control characters, endless words', async () => {
    const e = engine({ TTS_MAX_PHONEMES_PER_CHUNK: 100 });
    for (const text of [`dog${"'s".repeat(100)} is here.`, `${'!'.repeat(3000)} hi`, 'nul\u0000bytes\u0007 and \u202ebidi\u202c.', 'x'.repeat(3000)]) {
      const chunks = await collect(e, text);
      assert.ok(chunks.length >= 1, JSON.stringify(text.slice(0, 20)));
      for (const p of await e.phonemize(text)) assert.ok(phonemesOf(p.ids) <= 100);
    }
  });
});

describe('per-inference gate (SynthesisOptions.acquireSlot)', () => {
  it('is awaited before each inference, with the chunk index and the audio produced so far, and released after it', async () => {
    let inferences = 0;
    const e = engine({}, { onSentence: () => inferences++ });
    const calls: Array<{ chunkIndex: number; audioMsSoFar: number; inferencesBefore: number }> = [];
    let held = 0;
    let maxHeld = 0;
    let released = 0;
    const acquireSlot: SynthesisOptions['acquireSlot'] = async (info) => {
      await new Promise((r) => setTimeout(r, 5));
      calls.push({ ...info, inferencesBefore: inferences });
      held++;
      maxHeld = Math.max(maxHeld, held);
      return () => {
        held--;
        released++;
      };
    };
    const chunks = await collect(e, 'First one here. Then a second. And a third one.', { acquireSlot });
    assert.equal(chunks.length, 3);
    assert.deepEqual(
      calls.map((c) => c.chunkIndex),
      [0, 1, 2],
    );
    assert.deepEqual(
      calls.map((c) => c.inferencesBefore),
      [0, 1, 2],
      'no inference ran before its slot was granted',
    );
    const ms = chunks.map((c) => (c.pcm.length / c.sampleRate) * 1000);
    assert.deepEqual(
      calls.map((c) => c.audioMsSoFar),
      [0, ms[0]!, ms[0]! + ms[1]!],
    );
    assert.equal(released, 3);
    assert.equal(maxHeld, 1, 'a text holds one slot at a time');
  });

  it('gives every granted slot back when the consumer stops early or aborts while waiting', async () => {
    const e = engine();
    let granted = 0;
    let released = 0;
    const gate =
      (delayMs: number): SynthesisOptions['acquireSlot'] =>
      async () => {
        await new Promise((r) => setTimeout(r, delayMs));
        granted++;
        return () => released++;
      };
    // stop after the first chunk (the next one may already be prefetched)
    for await (const _ of e.synthesize('One here. Two here. Three here.', { acquireSlot: gate(0) })) break;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(released, granted);
    // abort while the gate is still pending: the late slot is released at once
    const ac = new AbortController();
    const run = collect(e, 'Waiting for a slot.', { signal: ac.signal, acquireSlot: gate(200) });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(run, { name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(released, granted);
    // a failing gate fails the iteration
    await assert.rejects(collect(e, 'No slot.', { acquireSlot: () => Promise.reject(new Error('overloaded')) }), /overloaded/);
  });
});
