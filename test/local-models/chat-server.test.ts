/**
 * The product's local language model server (src/local-models/llm/chat-server.ts) with the real
 * SmolLM2-135M-Instruct model, through the real `openai` client and raw HTTP for hostile input.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startChatServer, type ChatServer } from '../../src/local-models/llm/chat-server.js';
import type { LlamaEngine } from '../../src/local-models/llm/llama-engine.js';
import { createLogger } from '../../src/ops/logger.js';
import { loadTestModel } from '../support/llm-server.js';

const logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

function post(
  port: number,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('local LLM server (real SmolLM2-135M-Instruct, OpenAI-compatible)', () => {
  let engine: LlamaEngine;
  let server: ChatServer;
  let client: OpenAI;

  before(async () => {
    engine = await loadTestModel({ parallel: 1, threads: 2 });
    server = await startChatServer({
      engine,
      logger,
      host: '127.0.0.1',
      port: 0,
      defaultMaxTokens: 48,
      maxTokensCap: 32,
      maxInFlight: 2,
      maxBodyBytes: 64 * 1024,
    });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${server.port}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await server?.stop();
    await engine?.dispose();
  });

  it('streams a correct answer to a factual question, token by token', async () => {
    const stream = await client.chat.completions.create({
      model: 'anything',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0,
      messages: [
        { role: 'system', content: 'You are a helpful assistant. Answer in one short sentence.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
    });
    const pieces: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece) pieces.push(piece);
      if (chunk.usage) usage = chunk.usage;
    }
    assert.match(pieces.join(''), /Paris/i);
    assert.ok(pieces.length > 2, `expected several streamed pieces, got ${pieces.length}`);
    assert.ok(usage && usage.completion_tokens > 0 && usage.prompt_tokens > 0);
  });

  it('answers without streaming and caps max_tokens', async () => {
    const r = await client.chat.completions.create({
      model: 'x',
      max_tokens: 100_000,
      messages: [{ role: 'user', content: 'Count from one to one hundred.' }],
    });
    assert.equal(r.object, 'chat.completion');
    assert.ok((r.usage?.completion_tokens ?? 0) <= 32, `capped at 32 tokens, got ${r.usage?.completion_tokens}`);
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      [engine.name],
    );
  });

  it('evaluates only what a conversation adds, and reports the rest as cached_tokens', async () => {
    const system = { role: 'system' as const, content: 'You are a geography tutor. Answer in one short sentence.' };
    const question = { role: 'user' as const, content: 'What is the capital of France?' };
    const first = await client.chat.completions.create({ model: 'x', max_tokens: 16, temperature: 0, messages: [system, question] });
    const answer = first.choices[0]?.message.content ?? '';
    const firstPrompt = first.usage?.prompt_tokens ?? 0;
    assert.ok(firstPrompt > 10, `prompt_tokens ${firstPrompt}`);
    // the user listens to the answer before asking again
    await new Promise((r) => setTimeout(r, 1500));
    const next = await client.chat.completions.create({
      model: 'x',
      max_tokens: 16,
      temperature: 0,
      messages: [system, question, { role: 'assistant', content: answer }, { role: 'user', content: 'And of Italy?' }],
    });
    const cached = next.usage?.prompt_tokens_details?.cached_tokens ?? -1;
    const nextPrompt = next.usage?.prompt_tokens ?? 0;
    // the first request's prompt is held already (its answer may be tokenised slightly differently)
    assert.ok(cached >= firstPrompt && cached < nextPrompt, `cached ${cached} of ${nextPrompt}, first prompt ${firstPrompt}`);
    // After the answer the server evaluated the template's end of answer and next user header, so
    // only the question (about 5 tokens) and the assistant header (about 5) are left.
    assert.ok(nextPrompt - cached <= 11, `evaluated ${nextPrompt - cached} new tokens: cached ${cached} of ${nextPrompt}`);
    const other = await client.chat.completions.create({
      model: 'x',
      max_tokens: 4,
      messages: [{ role: 'system', content: 'Reply in French.' }, question],
    });
    const otherCached = other.usage?.prompt_tokens_details?.cached_tokens ?? -1;
    assert.ok(otherCached >= 0 && otherCached < 8, `a different system turn shares only the template's first tokens: ${otherCached}`);
  });

  it('refuses bad requests with OpenAI-style errors and keeps serving', async () => {
    const cases: Array<[string | Buffer, number, RegExp]> = [
      ['not json', 400, /not JSON/],
      ['{"model":"x"}', 400, /messages/],
      ['{"model":"x","messages":[]}', 400, /messages/],
      ['{"model":"x","messages":[{"role":"system","content":"only a system turn"}]}', 400, /no user message/],
      ['{"model":"x","messages":[{"role":"user","content":"hi"}],"temperature":99}', 400, /temperature/],
      [Buffer.alloc(70 * 1024, 0x20), 413, /over 65536 bytes/],
    ];
    for (const [body, status, message] of cases) {
      const r = await post(server.port, '/v1/chat/completions', body);
      assert.equal(r.status, status, `${String(body).slice(0, 40)} -> ${r.body}`);
      const parsed = JSON.parse(r.body) as { error: { message: string; type: string } };
      assert.match(parsed.error.message, message);
      assert.equal(parsed.error.type, 'invalid_request_error');
    }
    assert.equal((await post(server.port, '/v1/nothing', '{}')).status, 404);
    const r = await client.chat.completions.create({ model: 'x', max_tokens: 4, messages: [{ role: 'user', content: 'Say hi.' }] });
    assert.ok((r.choices[0]?.message.content ?? '').length > 0);
  });

  it('refuses requests beyond its limit with 429 and Retry-After instead of queueing without bound', async () => {
    const long = () =>
      client.chat.completions.create({ model: 'x', max_tokens: 32, messages: [{ role: 'user', content: 'Tell me a long story about a cat.' }] });
    const busy = [long(), long()];
    await new Promise((r) => setTimeout(r, 100));
    const refused = await post(server.port, '/v1/chat/completions', JSON.stringify({ model: 'x', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '1');
    await Promise.all(busy);
    assert.ok(server.stats.refused >= 1);
  });

  it('stops generating when the client goes away', async () => {
    const stream = await client.chat.completions.create({
      model: 'x',
      stream: true,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Count slowly from one to fifty.' }],
    });
    let pieces = 0;
    // Leaving the loop early aborts the HTTP request (the openai client's stream contract).
    for await (const _ of stream) if (++pieces === 3) break;
    assert.equal(pieces, 3);
    const deadline = Date.now() + 10_000;
    while (server.stats.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.stats.inFlight, 0, 'the abandoned answer stopped');
  });
});
