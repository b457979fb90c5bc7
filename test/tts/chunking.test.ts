import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitPhonemeSymbols, splitTextByWeights } from '../../src/tts/chunking.js';

const sym = (s: string) => Array.from(s);
const str = (chunks: string[][]) => chunks.map((c) => c.join(''));

describe('splitPhonemeSymbols', () => {
  it('returns a sentence within the limit unchanged', () => {
    assert.deepEqual(str(splitPhonemeSymbols(sym('həlˈoʊ ðˈɛɹ.'), 400)), ['həlˈoʊ ðˈɛɹ.']);
    assert.deepEqual(splitPhonemeSymbols([], 10), []);
  });

  it('cuts at a clause boundary in the second half of the window, keeping the punctuation', () => {
    assert.deepEqual(str(splitPhonemeSymbols(sym('aaaa bbbb, cccc dddd.'), 12)), ['aaaa bbbb,', 'cccc dddd.']);
    assert.deepEqual(str(splitPhonemeSymbols(sym('aaa; bbb: ccc dd'), 9)), ['aaa; bbb:', 'ccc dd']);
  });

  it('prefers a word boundary over a clause boundary early in the window', () => {
    assert.deepEqual(str(splitPhonemeSymbols(sym('a, bbbb cccc dddd'), 12)), ['a, bbbb cccc', 'dddd']);
  });

  it('falls back to a word boundary, then to a hard cut', () => {
    assert.deepEqual(str(splitPhonemeSymbols(sym('aaa bbb ccc ddd'), 8)), ['aaa bbb', 'ccc ddd']);
    assert.deepEqual(str(splitPhonemeSymbols(sym('abcdefghij'), 4)), ['abcd', 'efgh', 'ij']);
    assert.deepEqual(str(splitPhonemeSymbols(sym('abcd efgh'), 4)), ['abcd', 'efgh']);
  });

  it('keeps every chunk within the limit and loses no phoneme (random input)', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alphabet = ['a', 'ɪ', 'ˈ', 'ː', ' ', ' ', ',', ';', ':', '.', 'ʃ', 'n'];
    for (let round = 0; round < 300; round++) {
      const len = Math.floor(rand() * 2000);
      const symbols = Array.from({ length: len }, () => alphabet[Math.floor(rand() * alphabet.length)]!);
      const max = 1 + Math.floor(rand() * 500);
      const chunks = splitPhonemeSymbols(symbols, max);
      chunks.forEach((c, i) => {
        assert.ok(c.length >= 1 && c.length <= max, `chunk of ${c.length} > ${max}`);
        // boundary spaces are dropped; the sentence's own ends are kept as they are
        if (i > 0) assert.notEqual(c[0], ' ');
        if (i < chunks.length - 1) assert.notEqual(c.at(-1), ' ');
      });
      assert.equal(chunks.flat().join('').replace(/ /g, ''), symbols.join('').replace(/ /g, ''));
    }
  });
});

describe('splitTextByWeights', () => {
  it('splits the text in proportion, at spaces, without losing words', () => {
    const text = 'one two three four five six seven eight';
    const parts = splitTextByWeights(text, [1, 1]);
    assert.equal(parts.length, 2);
    assert.equal(parts.join(' '), text);
    assert.ok(!parts[0]!.endsWith(' ') && parts[0]!.length > 10);
    assert.deepEqual(splitTextByWeights(text, [5]), [text]);
    const many = splitTextByWeights(text, [1, 1, 1, 1, 0]);
    assert.equal(many.length, 5);
    assert.equal(many.filter(Boolean).join(' '), text);
  });
});
