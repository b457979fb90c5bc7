/**
 * The reply's first clause as a piece of its own: the rule, and the tokenizer Piper's sentence adapter uses
 * (the framework's own buffered token stream), fed text the way an LLM streams it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstClause, speakableStart } from '../../src/agent/first-clause.js';
import { FirstClauseTokenizer } from '../../src/agent/first-clause-tokenizer.js';

/** Pushes `text` a few characters at a time; returns the pieces out after each push, then after the end. */
async function pieces(stream: ReturnType<FirstClauseTokenizer['stream']>, texts: string[]): Promise<{ pushedWhenFirst: string; all: string[] }> {
  const all: string[] = [];
  let pushed = '';
  let pushedWhenFirst = '';
  const reading = (async () => {
    for await (const { token } of stream) {
      all.push(token);
      if (all.length === 1) pushedWhenFirst = pushed;
    }
  })();
  for (const [i, text] of texts.entries()) {
    for (let at = 0; at < text.length; at += 3) {
      const chunk = text.slice(at, at + 3);
      pushed += chunk;
      stream.pushText(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (i < texts.length - 1) stream.flush();
  }
  stream.endInput();
  await reading;
  return { pushedWhenFirst, all };
}

describe('first clause', () => {
  it('is at least two words before a comma, semicolon, colon or dash followed by more text', () => {
    assert.equal(firstClause('Of course, the capital of France is Paris.'), 'Of course,');
    assert.equal(firstClause('Sure, I can. Bees make honey, of course.'), 'Sure, I can. Bees make honey,');
    assert.equal(firstClause('Well, honey.'), undefined, 'one word');
    assert.equal(firstClause('It costs 3,000 dollars.'), undefined, 'a number');
    assert.equal(firstClause('In short,'), undefined, 'nothing after it yet');
    assert.equal(firstClause('Two options: tea or coffee.'), 'Two options:');
  });

  it('lets speech start on a first clause or a first sentence', () => {
    assert.ok(speakableStart('Of course, the'));
    assert.ok(speakableStart('The capital of France is Paris. '));
    assert.ok(!speakableStart('The capital of France'));
    assert.ok(!speakableStart('Yes. '), 'a sentence shorter than 20 characters waits for the next');
  });

  it("speaks a reply's first clause as soon as it is there, then whole sentences, and again for the next reply", async () => {
    const stream = new FirstClauseTokenizer().stream();
    const { pushedWhenFirst, all } = await pieces(stream, [
      'Of course, the capital of France is Paris, a big city. It is lovely, and old.',
      'Well then, what else? Ask me anything, really.',
    ]);
    assert.deepEqual(
      all.map((p) => p.trim()),
      ['Of course,', 'the capital of France is Paris, a big city.', 'It is lovely, and old.', 'Well then,', 'what else? Ask me anything, really.'],
    );
    assert.ok(pushedWhenFirst.length < 'Of course, the capital'.length, `the first clause went out after "${pushedWhenFirst}"`);
    // the transcript (and the chat history the LLM sees next) is the pieces as they are: every space kept
    assert.equal(all.slice(0, 3).join(''), 'Of course, the capital of France is Paris, a big city. It is lovely, and old.');
  });

  it('leaves a reply without a first clause in sentences', async () => {
    const stream = new FirstClauseTokenizer().stream();
    const { all } = await pieces(stream, ['The capital city of France is Paris. It has 2,100,000 people, give or take.']);
    assert.deepEqual(
      all.map((p) => p.trim()),
      ['The capital city of France is Paris.', 'It has 2,100,000 people, give or take.'],
    );
    assert.equal(all.join(''), 'The capital city of France is Paris. It has 2,100,000 people, give or take.');
  });
});
