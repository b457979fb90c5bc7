import assert from 'node:assert/strict';
import { ReadableStream } from 'node:stream/web';
import { after, before, describe, it } from 'node:test';
import { initializeLogger, llm, loggerOptions } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import { guardLlmStream, type LlmFailure } from '../../src/agent/llm-guard.js';
import { type LlmTestServer, startLlmServer } from '../support/llm-server.js';

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

  it('reports when the first complete sentence of the reply is available: after the chunk that ends it, before the next one', async () => {
    const chunks = ['The capital of France', ' is Paris.', ' It is', ' lovely.'];
    // when the source handed over each chunk, on the same clock as the guard
    const enqueuedAt: number[] = [];
    let index = 0;
    const timed = new ReadableStream<string>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 30));
        if (index < chunks.length) {
          enqueuedAt.push(performance.now());
          controller.enqueue(chunks[index++]!);
        } else controller.close();
      },
    });
    const reports: Array<{ ms: number; at: number }> = [];
    const before = performance.now();
    const guarded = guardLlmStream(timed, {
      timeoutMs: 5000,
      apology: APOLOGY,
      takeProviderError: () => undefined,
      onFailure: () => assert.fail('no failure expected'),
      onFirstSentence: (ms) => reports.push({ ms, at: performance.now() }),
    });
    const after = performance.now();
    assert.deepEqual(await collect(guarded), chunks);
    assert.equal(reports.length, 1);
    const { ms, at } = reports[0]!;
    // the guard's clock started while guardLlmStream ran (between `before` and `after`), and the
    // report came once the chunk completing the sentence (the 2nd) had arrived, before the 3rd was
    // even produced: orderings, so a slow machine cannot break them
    assert.ok(
      at >= enqueuedAt[1]! && at < enqueuedAt[2]!,
      `reported at ${(at - before).toFixed(1)} ms; chunks at ${enqueuedAt.map((t) => (t - before).toFixed(1)).join(', ')} ms`,
    );
    assert.ok(ms >= enqueuedAt[1]! - after && ms <= at - before, `reported ${ms.toFixed(1)} ms`);
    // two 30 ms waits came before it (libuv's cached loop time can make a timer look ~1 ms early)
    assert.ok(ms >= 60 - (after - before) - 4, `reported ${ms.toFixed(1)} ms, less than two 30 ms waits`);
  });

  it('turns a stream error into an apology', async () => {
    const { guarded, failures } = guard(source([], { failWith: new Error('socket hang up') }));
    assert.deepEqual(await collect(guarded), [APOLOGY]);
    assert.deepEqual(failures, [{ kind: 'error', cause: 'socket hang up' }]);
  });
});

/**
 * What the framework does when the user interrupts a reply (agents' performLLMInference): its read
 * of the reply is abandoned, the reader released, and the stream cancelled.
 */
async function interrupt(stream: ReadableStream<unknown>, pendingRead: Promise<unknown>, reader: { releaseLock(): void }): Promise<void> {
  reader.releaseLock();
  await pendingRead.catch(() => undefined); // releasing the lock rejects the read in flight
  await stream.cancel('interrupted');
}

/** Lets everything the cancellation set off run (timers included); a failure report would land by then. */
const settle = () => new Promise((r) => setTimeout(r, 100));

describe('LLM reply guard: an interruption is not a failure', () => {
  it('an interruption before the first token reports no failure and cancels the provider stream', async () => {
    let sourceCancelled: unknown;
    const waiting = new ReadableStream<unknown>({
      pull: () => new Promise(() => undefined), // the provider has not answered yet
      cancel: (reason) => {
        sourceCancelled = reason;
      },
    });
    const { guarded, failures } = guard(waiting, 5000);
    const reader = guarded.getReader();
    const read = reader.read();
    await new Promise((r) => setTimeout(r, 50));
    await interrupt(guarded, read, reader);
    await settle();
    assert.equal(sourceCancelled, 'interrupted', 'the cancellation reached the provider stream');
    assert.deepEqual(failures, [], 'an interruption was reported as an LLM failure');
  });

  it('an interruption midway through a reply, while the provider is between tokens, reports no failure', async () => {
    const { guarded, failures } = guard(source(['Half of', ' a reply'], { hangAfter: 2 }), 5000);
    const reader = guarded.getReader();
    assert.deepEqual(await reader.read(), { done: false, value: 'Half of' });
    assert.deepEqual(await reader.read(), { done: false, value: ' a reply' });
    const read = reader.read();
    await new Promise((r) => setTimeout(r, 20));
    await interrupt(guarded, read, reader);
    await settle();
    assert.deepEqual(failures, []);
  });

  it('an interruption that lands as a token arrives reports no failure', async () => {
    let push: ((chunk: string) => void) | undefined;
    const streaming = new ReadableStream<unknown>({
      start(controller) {
        push = (chunk) => controller.enqueue(chunk);
      },
    });
    const { guarded, failures } = guard(streaming, 5000);
    const reader = guarded.getReader();
    push!('First words');
    assert.deepEqual(await reader.read(), { done: false, value: 'First words' });
    reader.releaseLock();
    // the provider's next token and the user's interruption in the same turn of the event loop
    push!(' and more');
    await guarded.cancel('interrupted');
    await settle();
    assert.deepEqual(failures, [], 'an interruption was reported as an LLM failure');
  });

  it('the same waiting provider, not interrupted, is reported as a timeout (so the tests above can tell)', async () => {
    const waiting = new ReadableStream<unknown>({ pull: () => new Promise(() => undefined) });
    const { guarded, failures } = guard(waiting, 100);
    assert.deepEqual(await collect(guarded), [APOLOGY]);
    assert.equal(failures[0]?.kind, 'timeout');
  });
});

describe('LLM reply guard over the real OpenAI plugin and an OpenAI-compatible server (stand-in answers)', () => {
  let server: LlmTestServer;
  let model: openai.LLM;
  before(async () => {
    if (!loggerOptions()) initializeLogger({ pretty: false, level: 'fatal' });
    server = await startLlmServer({ engine: 'stand-in' });
    model = new openai.LLM({ model: server.model, baseURL: server.baseURL, apiKey: 'test-key' });
  });
  after(async () => {
    await model?.aclose();
    await server?.stop();
  });

  /** The reply stream exactly as agents' default llmNode builds it from llm.chat(). */
  function reply(question: string): ReadableStream<llm.ChatChunk> {
    const chatCtx = llm.ChatContext.empty();
    chatCtx.addMessage({ role: 'user', content: question });
    const stream = model.chat({ chatCtx });
    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      stream.close();
    };
    return new ReadableStream<llm.ChatChunk>({
      async start(controller) {
        try {
          for await (const chunk of stream) controller.enqueue(chunk);
          controller.close();
        } finally {
          cleanup();
        }
      },
      cancel() {
        cleanup();
      },
    });
  }

  it('a user who interrupts while the model has not answered yet causes no failure report; the next reply is normal', async () => {
    server.setMode('slow', 30_000);
    const requestsBefore = server.requests;
    const { guarded, failures } = guard(reply('Are you there?'), 20_000);
    const reader = guarded.getReader();
    const read = reader.read();
    const deadline = Date.now() + 10_000;
    while (server.requests === requestsBefore) {
      assert.ok(Date.now() < deadline, 'the request never reached the server');
      await new Promise((r) => setTimeout(r, 20));
    }
    await interrupt(guarded, read, reader);
    await settle();
    assert.deepEqual(failures, [], 'an interruption was reported as an LLM failure');

    server.setMode('ok');
    const next = guard(reply('Say banana.'), 20_000);
    const text = (await collect(next.guarded)).map((c) => (typeof c === 'string' ? c : ((c as llm.ChatChunk).delta?.content ?? ''))).join('');
    assert.equal(text, 'You said: Say banana.');
    assert.deepEqual(next.failures, []);
  });
});
