import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeWords, wordAccuracy, wordErrors } from './word-accuracy.js';

describe('wordAccuracy', () => {
  it('ignores case and punctuation', () => {
    assert.deepEqual(normalizeWords("Hello, World! Bob's here."), ['hello', 'world', 'bobs', 'here']);
    assert.equal(wordAccuracy('Hello, world.', 'hello world'), 1);
  });

  it('spells out contractions, however the apostrophe is written', () => {
    assert.deepEqual(normalizeWords("It's me; we\u2019re here, don't go."), ['it', 'is', 'me', 'we', 'are', 'here', 'do', 'not', 'go']);
    assert.equal(wordAccuracy('It is what it is.', "it's what it's"), 1);
  });

  it('counts word errors for corpus-level scoring', () => {
    assert.equal(wordErrors(['a', 'b', 'c'], ['a', 'x', 'c', 'd']), 2);
    assert.equal(wordErrors([], ['a']), 1);
    assert.equal(wordErrors(['a'], []), 1);
  });

  it('counts substitutions, deletions and insertions against the reference length', () => {
    assert.equal(wordAccuracy('one two three four', 'one too three four'), 0.75);
    assert.equal(wordAccuracy('one two three four', 'one three four'), 0.75);
    assert.equal(wordAccuracy('one two three four', 'one two three four five'), 0.75);
  });

  it('never goes below zero and treats empty texts sensibly', () => {
    assert.equal(wordAccuracy('yes', 'no no no no'), 0);
    assert.equal(wordAccuracy('', ''), 1);
    assert.equal(wordAccuracy('', 'noise'), 0);
    assert.equal(wordAccuracy('something', ''), 0);
  });
});
