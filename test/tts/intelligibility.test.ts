import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Resampler } from '../../src/audio/index.js';
import { PiperEngine } from '../../src/tts/engine.js';
import { speak } from '../support/piper-clips.js';
import { transcribe } from '../support/tts/recognizer.js';
import { normalizeWords as words, wordErrors } from '../support/word-accuracy.js';
import { TEST_VOICE as REAL_VOICE, requireTestVoice as realVoicesDir } from '../support/voices.js';

const SENTENCES = [
  'The weather is nice today.',
  'Please open the door for me.',
  'I would like a cup of coffee.',
  'We are going to the store tomorrow.',
  'My brother lives in a small town.',
  'Can you tell me where the station is?',
  'She reads a book every night.',
  'The children played in the park.',
  'Turn off the lights when you leave.',
  'It is time to go home now.',
  'He bought a new car last week.',
  'Thank you very much for your help.',
];

describe(`intelligibility of the real voice (${REAL_VOICE}) to an offline recognizer`, () => {
  const engine = new PiperEngine({
    VOICES_DIR: realVoicesDir(),
    TTS_VOICE: REAL_VOICE,
    TTS_MAX_VOICES: 1,
    TTS_INTRA_OP_THREADS: 0,
    ESPEAK_LIBRARY: undefined,
    ESPEAK_DATA_PATH: undefined,
  });
  after(() => engine.close());

  it('is understood by pocketsphinx with at least 85 % word accuracy', async () => {
    let errors = 0;
    let total = 0;
    for (const sentence of SENTENCES) {
      const clip = await speak(engine, sentence);
      const audio = Resampler.oneShot(clip.pcm, clip.sampleRate, 16000);
      const heard = await transcribe(audio);
      const ref = words(sentence);
      const e = wordErrors(ref, words(heard));
      errors += e;
      total += ref.length;
      console.log(`  ${e === 0 ? 'ok ' : `${e}  `} "${sentence}" -> "${heard}"`);
    }
    const accuracy = 1 - errors / total;
    console.log(`word accuracy: ${(accuracy * 100).toFixed(1)} % (${total - errors}/${total} words, ${SENTENCES.length} sentences)`);
    assert.ok(accuracy >= 0.85, `word accuracy ${(accuracy * 100).toFixed(1)} % is below 85 %`);
  });
});
