import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromConsumedText } from '../../src/tts/espeak.js';
import { phonemesToIds, splitPhonemes } from '../../src/tts/phoneme-ids.js';

const map = new Map<string, number[]>([
  ['_', [0]],
  ['^', [1]],
  ['$', [2]],
  ['a', [10]],
  ['ɪ', [11]],
  ['aɪ', [20]],
  ['ʊ', [12]],
  ['e', [13]],
  ['\u0303', [14]],
  ['x', [30, 31]],
]);

describe('phoneme ids', () => {
  it('interleaves PAD after BOS and every phoneme and ends with EOS', () => {
    assert.deepEqual(phonemesToIds(['a', 'ɪ'], map), [1, 0, 10, 0, 11, 0, 2]);
  });

  it('decomposes to NFD code points (a tilde becomes its own phoneme)', () => {
    assert.deepEqual(splitPhonemes('ã'), ['a', '\u0303']);
  });

  it('merges the voice’s clusters by longest match, and only those', () => {
    assert.deepEqual(splitPhonemes('aɪaʊ', [['a', 'ɪ']]), ['aɪ', 'a', 'ʊ']);
    assert.deepEqual(splitPhonemes('aɪ'), ['a', 'ɪ']);
    assert.deepEqual(
      splitPhonemes('aɪe', [
        ['a', 'ɪ'],
        ['a', 'ɪ', 'e'],
      ]),
      ['aɪe'],
    );
  });

  it('expands symbols that map to several ids and skips unknown symbols, reporting them', () => {
    const missing: string[] = [];
    assert.deepEqual(
      phonemesToIds(['x', '?', 'a'], map, (s) => missing.push(s)),
      [1, 0, 30, 31, 0, 10, 0, 2],
    );
    assert.deepEqual(missing, ['?']);
  });
});

describe('clause terminators read from the text espeak consumed', () => {
  it('finds the punctuation before the next clause’s first letter', () => {
    assert.deepEqual(fromConsumedText('One. T', false), { terminator: '.', endOfSentence: true });
    assert.deepEqual(fromConsumedText('Wow, t', false), { terminator: ',', endOfSentence: false });
    assert.deepEqual(fromConsumedText(' she shouted. "D', false), { terminator: '.', endOfSentence: true });
    assert.deepEqual(fromConsumedText('He said "hi?"', false), { terminator: '?', endOfSentence: true });
  });

  it('treats dashes as ";" and ellipses as no mark, neither ending the sentence', () => {
    assert.deepEqual(fromConsumedText('es - no — m', false), { terminator: ';', endOfSentence: false });
    assert.deepEqual(fromConsumedText('Wait... w', false), { terminator: '', endOfSentence: false });
    assert.deepEqual(fromConsumedText('Wait… w', false), { terminator: '', endOfSentence: false });
  });

  it('ends the sentence at the end of text without a mark', () => {
    assert.deepEqual(fromConsumedText('no final punctuation', true), { terminator: '', endOfSentence: true });
  });
});
