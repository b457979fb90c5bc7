import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeWords, wordAccuracy } from './word-accuracy.js';

describe('wordAccuracy', () => {
  it('ignores case and punctuation', () => {
    assert.deepEqual(normalizeWords("Hello, World! It's me."), ['hello', 'world', 'its', 'me']);
    assert.equal(wordAccuracy('Hello, world.', 'hello world'), 1);
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
