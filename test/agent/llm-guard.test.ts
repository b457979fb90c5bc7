import assert from 'node:assert/strict';
import { ReadableStream } from 'node:stream/web';
import { describe, it } from 'node:test';
import { guardLlmStream, type LlmFailure } from '../../src/agent/llm-guard.js';

const APOLOGY = 'Sorry.';

function source(chunks: unknown[], options: { delayMs?: number; hangAfter?: number; failWith?: Error } = {}): ReadableStream<unknown> {
  let index = 0;
  return new ReadableStream({
    async pull(controller) {
      if (options.hangAfter !== undefined && index >= options.hangAfter) return new Promise(() => undefined);
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      if (index < chunks.length) controller.enqueue(chunks[index++]);
      else if (options.failWith) controller.error(options.failWith);
      else controller.close();
    },
  });
}

async function collect(stream: ReadableStream<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

function guard(stream: ReadableStream<unknown>, timeoutMs = 200, providerError?: string) {
  const failures: LlmFailure[] = [];
  const guarded = guardLlmStream(stream, { timeoutMs, apology: APOLOGY, takeProviderError: () => providerError, onFailure: (f) => failures.push(f) });
  return { guarded, failures };
}

describe('LLM reply guard', () => {
  it('passes a healthy reply through untouched', async () => {
    const chunks = [{ id: '1', delta: { role: 'assistant', content: 'Hello' } }, ' there.'];
    const { guarded, failures } = guard(source(chunks));
    assert.deepEqual(await collect(guarded), chunks);
    assert.deepEqual(failures, []);
  });

  it('speaks the apology and reports the provider error when the reply ends empty after a failure', async () => {
    const { guarded, failures } = guard(source([]), 200, 'APIStatusError: 503');
    assert.deepEqual(await collect(guarded), [APOLOGY]);
    assert.deepEqual(failures, [{ kind: 'error', cause: 'APIStatusError: 503' }]);
  });

  it('speaks the apology when the model answers with no text at all', async () => {
    const { guarded, failures } = guard(source([{ id: '1', delta: { role: 'assistant', content: '  ' } }]));
    assert.deepEqual((await collect(guarded)).at(-1), APOLOGY);
    assert.equal(failures[0]?.kind, 'empty');
  });

  it('gives up on a provider that sends no first token in time', async () => {
    const started = Date.now();
    const { guarded, failures } = guard(source([], { hangAfter: 0 }), 150);
    assert.deepEqual(await collect(guarded), [APOLOGY]);
    assert.equal(failures[0]?.kind, 'timeout');
    assert.ok(Date.now() - started < 2000);
  });

  it('ends a reply that stalls midway without adding an apology to the words already spoken', async () => {
    const { guarded, failures } = guard(source(['Half a'], { hangAfter: 1 }), 150);
    assert.deepEqual(await collect(guarded), ['Half a']);
    assert.equal(failures[0]?.kind, 'timeout');
    assert.match(failures[0]!.cause, /stalled/);
  });

  it('reports when the first complete sentence of the reply is available', async () => {
    const sentences: number[] = [];
    const guarded = guardLlmStream(source(['The capital of France', ' is Paris.', ' It is', ' lovely.'], { delayMs: 30 }), {
      timeoutMs: 500,
      apology: APOLOGY,
      takeProviderError: () => undefined,
      onFailure: () => assert.fail('no failure expected'),
      onFirstSentence: (ms) => sentences.push(ms),
    });
    await collect(guarded);
    assert.equal(sentences.length, 1);
    assert.ok(sentences[0]! >= 50 && sentences[0]! < 110, `first sentence after ${sentences[0]} ms (2 of 4 chunks, 30 ms apart)`);
  });

  it('turns a stream error into an apology', async () => {
    const { guarded, failures } = guard(source([], { failWith: new Error('socket hang up') }));
    assert.deepEqual(await collect(guarded), [APOLOGY]);
    assert.deepEqual(failures, [{ kind: 'error', cause: 'socket hang up' }]);
  });
});
