import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitSentences } from './sentences.js';

test('text is cut after sentence punctuation followed by a capital or a digit', () => {
  assert.deepEqual(splitSentences('Hello there. How are you? Fine! 3 cats came.'), ['Hello there.', 'How are you?', 'Fine!', '3 cats came.']);
});

test('abbreviations, initials, decimals and lower-case continuations do not end a sentence', () => {
  assert.deepEqual(splitSentences('Dr. Smith met J. Doe at 3.5 p.m. today. It went well.'), ['Dr. Smith met J. Doe at 3.5 p.m. today.', 'It went well.']);
  assert.deepEqual(splitSentences('Wait... what happened.'), ['Wait... what happened.']);
});

test('quotes stay with their sentence; blank lines split; text without punctuation is one piece', () => {
  assert.deepEqual(splitSentences('He said "Stop." Then he left.'), ['He said "Stop."', 'Then he left.']);
  assert.deepEqual(splitSentences('first paragraph\n\nsecond paragraph'), ['first paragraph', 'second paragraph']);
  assert.deepEqual(splitSentences('no punctuation at all'), ['no punctuation at all']);
  assert.deepEqual(splitSentences('   '), []);
});
