import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_WORD_CHARS, normalizeText } from '../../src/tts/normalize.js';
import { readGolden } from '../support/tts/golden.js';

describe('normalizeText', () => {
  it('leaves ordinary text unchanged (every golden sentence, quotes, ellipses, dashes, numbers, accents)', () => {
    const golden = readGolden();
    for (const c of [...golden.espeakCases, ...golden.textCases]) assert.equal(normalizeText(c.text), c.text);
    for (const text of [
      "It's the dog's bowl, isn't it? We'd've gone... -- Yes!",
      'Wait... what?! "Quoted" (bracketed) [x] 3.14 1,000,000 e-mail',
      'Café naïve coöperate — ½ €5 😀',
      'Line one.\nLine two.\tTabbed.\r\n',
      'pneumonoultramicroscopicsilicovolcanoconiosis',
    ]) {
      assert.equal(normalizeText(text), text);
    }
  });

  it('strips control and invisible format characters', () => {
    assert.equal(normalizeText('a\u0000b\u0007c\u001bd\u007fe\u0085f'), 'a b c d e f');
    assert.equal(normalizeText('zero\u200dwidth\u202ebidi\u202c\ufeffbom soft\u00adhyphen'), 'zerowidthbidibom softhyphen');
    assert.equal(normalizeText('split\u200bhere'), 'split here');
    assert.equal(normalizeText('lone \ud800 surrogate \udc00.'), 'lone  surrogate .');
    assert.equal(normalizeText('pair \ud83d\ude00 kept'), 'pair \ud83d\ude00 kept');
  });

  it('collapses runs of repeated punctuation (ellipsis up to 3, dash up to 2, others to 1) and cuts mixed runs to 4', () => {
    assert.equal(normalizeText('Wow!!!!!!'), 'Wow!');
    assert.equal(normalizeText('What????'), 'What?');
    assert.equal(normalizeText('Hmm.......... ok'), 'Hmm... ok');
    assert.equal(normalizeText('a ------ b'), 'a -- b');
    assert.equal(normalizeText('x ,,,,;;;;:::: y'), 'x ,;: y');
    assert.equal(normalizeText('?!?!?!?!?!'), '?!?!');
    assert.equal(normalizeText(`${'!'.repeat(100_000)}`), '!');
  });

  it("bounds stacked apostrophe suffixes (the espeak-ng crash: dog's's's…)", () => {
    assert.equal(normalizeText(`dog${"'s".repeat(100)}`), "dog's's");
    assert.equal(normalizeText(`s${"'s".repeat(300)}'`), "s's's'");
    assert.equal(normalizeText(`it\u2019s\u2019s\u2019s\u2019s fine`), 'it\u2019s\u2019s fine');
    assert.equal(normalizeText("we'd've"), "we'd've");
  });

  it(`cuts words longer than ${DEFAULT_MAX_WORD_CHARS} characters into pieces, keeping combining marks with their letter`, () => {
    const out = normalizeText(`start ${'a'.repeat(200)} end`);
    const words = out.split(' ');
    assert.deepEqual(words.slice(0, 1), ['start']);
    assert.equal(words.at(-1), 'end');
    for (const w of words) assert.ok(Array.from(w).length <= DEFAULT_MAX_WORD_CHARS);
    assert.equal(words.slice(1, -1).join(''), 'a'.repeat(200));
    assert.equal(normalizeText('abcdefghijkl', { maxWordChars: 8 }), 'abcdefgh ijkl');
    // "e" + combining acute must not be separated
    const marked = normalizeText(`${'a'.repeat(7)}e\u0301bc`, { maxWordChars: 8 });
    assert.equal(marked, `${'a'.repeat(7)} e\u0301bc`);
    // astral characters count as one and are never split in half
    assert.equal(normalizeText('𝒜'.repeat(10), { maxWordChars: 8 }), `${'𝒜'.repeat(8)} ${'𝒜'.repeat(2)}`);
    // a flood of one emoji is a run of one symbol: kept once
    assert.equal(normalizeText('😀'.repeat(1000)), '😀');
  });

  it('is fast on large hostile inputs', () => {
    const hostile = `${"x's".repeat(20_000)} ${'!?'.repeat(20_000)} ${'\u0000'.repeat(20_000)} ${'y'.repeat(100_000)}`;
    const started = performance.now();
    const out = normalizeText(hostile);
    assert.ok(performance.now() - started < 500);
    for (const w of out.split(/\s+/)) assert.ok(Array.from(w).length <= DEFAULT_MAX_WORD_CHARS);
  });
});
