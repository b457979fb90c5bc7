import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PiperEngine } from '../../src/tts/engine.js';
import { Espeak } from '../../src/tts/espeak.js';
import { phonemesToIds, splitPhonemes } from '../../src/tts/phoneme-ids.js';
import { type GoldenCase, ourEspeakIds, readGolden } from '../support/tts/golden.js';
import { tinyVoiceConfig, writeTinyVoice } from '../support/tts/tiny-model.js';

/**
 * Golden ids from the reference (piper-phonemize + piper-tts), against the stock system
 * libespeak-ng (Debian 1.51). That library is an older espeak-ng than Piper's own build, and the
 * two disagree in one known place: a clause that is only the word "one" gets primary stress (ˈ)
 * here and secondary stress (ˌ) in Piper's build. Every other case must be identical, and the
 * known case may differ in nothing but that stress mark. golden-piper-lib.test.ts checks exact
 * equality for all cases with Piper's own espeak-ng build.
 */
const KNOWN_STOCK_ESPEAK_DIFFERENCES = new Set(['One. Two. Three. Four.']);
const PRIMARY_STRESS = 120;
const SECONDARY_STRESS = 121;

/** The known case: same sentences, same lengths, and nothing but primary-for-secondary stress differs. */
function assertOnlyStressDiffers(mine: number[][], c: GoldenCase): void {
  assert.equal(mine.length, c.ids.length, `sentence count differs for ${JSON.stringify(c.text)}`);
  mine.forEach((ids, s) => {
    const ref = c.ids[s]!;
    assert.equal(ids.length, ref.length);
    ids.forEach((id, k) => {
      if (id !== ref[k]) assert.deepEqual([id, ref[k]], [PRIMARY_STRESS, SECONDARY_STRESS], `unexpected difference in ${JSON.stringify(c.text)}`);
    });
  });
}

describe('phoneme ids against the reference (system libespeak-ng)', () => {
  const golden = readGolden();

  it(`holds at least 30 different sentences, each with the reference's phonemes and the ids they map to (has ${golden.espeakCases.length})`, () => {
    assert.ok(golden.espeakCases.length >= 30);
    assert.equal(new Set(golden.espeakCases.map((c) => c.text)).size, golden.espeakCases.length, 'a sentence appears twice');
    const idMap = new Map(Object.entries(golden.phonemeIdMap));
    for (const c of golden.espeakCases) {
      assert.ok(c.text.trim().length > 0 && c.ids.length > 0, `empty case ${JSON.stringify(c.text)}`);
      // the fixture is internally consistent: the reference's phonemes give the reference's ids
      assert.ok(c.phonemes && c.phonemes.length === c.ids.length, `phonemes and ids disagree in length for ${JSON.stringify(c.text)}`);
      assert.deepEqual(
        c.phonemes.map((p) => phonemesToIds(splitPhonemes(p), idMap)),
        c.ids,
        `phonemes and ids disagree for ${JSON.stringify(c.text)}`,
      );
      for (const ids of c.ids) {
        assert.deepEqual([ids[0], ids[1], ids.at(-1)], [1, 0, 2], `ids of ${JSON.stringify(c.text)} are not ^ _ ... $`);
      }
    }
  });

  it('matches the reference ids exactly, sentence for sentence', () => {
    const espeak = Espeak.get();
    const ours = ourEspeakIds(golden, {});
    let exact = 0;
    golden.espeakCases.forEach((c, i) => {
      const mine = ours[i]!;
      if (!KNOWN_STOCK_ESPEAK_DIFFERENCES.has(c.text) || espeak.exactTerminators) {
        assert.deepEqual(mine, c.ids, `ids differ for ${JSON.stringify(c.text)}`);
        exact++;
        return;
      }
      assertOnlyStressDiffers(mine, c);
    });
    console.log(`golden ids: ${exact}/${golden.espeakCases.length} sentences identical with the system espeak-ng`);
  });

  it('gives the reference ids through the engine for every sentence (normalization, phonemizer process, per-inference limit)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vo-golden-'));
    const engine = new PiperEngine({
      VOICES_DIR: dir,
      TTS_VOICE: 'golden',
      TTS_MAX_VOICES: 1,
      TTS_INTRA_OP_THREADS: 1,
      ESPEAK_LIBRARY: undefined,
      ESPEAK_DATA_PATH: undefined,
    });
    try {
      await writeTinyVoice(dir, 'golden');
      await writeFile(
        join(dir, 'golden.onnx.json'),
        JSON.stringify({ ...tinyVoiceConfig(), espeak: { voice: golden.espeakVoice }, phoneme_id_map: golden.phonemeIdMap }),
      );
      const exactTerminators = Espeak.get().exactTerminators;
      let identical = 0;
      for (const c of golden.espeakCases) {
        const viaEngine = (await engine.phonemize(c.text)).map((s) => s.ids);
        if (!KNOWN_STOCK_ESPEAK_DIFFERENCES.has(c.text) || exactTerminators) {
          assert.deepEqual(viaEngine, c.ids, `engine ids differ from the reference for ${JSON.stringify(c.text)}`);
          identical++;
        } else {
          assertOnlyStressDiffers(viaEngine, c);
        }
      }
      assert.ok(identical >= golden.espeakCases.length - KNOWN_STOCK_ESPEAK_DIFFERENCES.size);
    } finally {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('maps text-type voices code point by code point like the reference, directly and through the engine', async () => {
    assert.ok(golden.textCases.length >= 5, `only ${golden.textCases.length} text cases`);
    const idMap = new Map(Object.entries(golden.phonemeIdMap));
    for (const c of golden.textCases) {
      assert.deepEqual([phonemesToIds(splitPhonemes(c.text), idMap)], c.ids, c.text);
    }
    const dir = await mkdtemp(join(tmpdir(), 'vo-golden-text-'));
    const engine = new PiperEngine({
      VOICES_DIR: dir,
      TTS_VOICE: 'golden-text',
      TTS_MAX_VOICES: 1,
      TTS_INTRA_OP_THREADS: 1,
      ESPEAK_LIBRARY: undefined,
      ESPEAK_DATA_PATH: undefined,
    });
    try {
      await writeTinyVoice(dir, 'golden-text', { phonemeType: 'text' });
      await writeFile(join(dir, 'golden-text.onnx.json'), JSON.stringify({ ...tinyVoiceConfig({ phonemeType: 'text' }), phoneme_id_map: golden.phonemeIdMap }));
      for (const c of golden.textCases) {
        assert.deepEqual(
          (await engine.phonemize(c.text)).map((s) => s.ids),
          c.ids,
          `engine ids differ from the reference for ${JSON.stringify(c.text)}`,
        );
      }
    } finally {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
