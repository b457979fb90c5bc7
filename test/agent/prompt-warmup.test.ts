/**
 * warmLocalPrompts against the product's local LLM server with the real SmolLM2-135M-Instruct model:
 * after it, a room's first question finds the assistant's opening evaluated in every sequence.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { AssistantSpec } from '../../src/agent/assistant-spec.js';
import { warmLocalPrompts } from '../../src/agent/prompt-warmup.js';
import { type ChatServer, startChatServer } from '../../src/local-models/llm/chat-server.js';
import type { LlamaEngine } from '../../src/local-models/llm/llama-engine.js';
import { createLogger } from '../../src/ops/logger.js';
import { loadTestModel } from '../support/llm-server.js';

function spec(name: string, baseURL: string, instructions: string): AssistantSpec {
  return {
    name,
    version: 0,
    instructions,
    greeting: 'Hello! What would you like to know?',
    voice: 'en_US-joe-medium',
    llm: [{ model: 'smollm2', baseURL, apiKey: 'unused', provider: 'test' }],
    stt: [],
    maxSessions: 4,
  };
}

describe('local LLM warm-up with the assistants’ openings (real SmolLM2-135M-Instruct)', () => {
  const lines: string[] = [];
  const logger = createLogger(
    { LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
  let engine: LlamaEngine;
  let server: ChatServer;
  let baseURL: string;
  let config: { LOCAL_MODELS_HOST: string; LOCAL_LLM_PORT: number; LOCAL_LLM_PARALLEL: number };

  before(async () => {
    engine = await loadTestModel({ parallel: 2, threads: 2 });
    server = await startChatServer({
      engine,
      logger,
      host: '127.0.0.1',
      port: 0,
      defaultMaxTokens: 16,
      maxTokensCap: 16,
      maxInFlight: 4,
      maxBodyBytes: 64 * 1024,
    });
    baseURL = `http://127.0.0.1:${server.port}/v1`;
    config = { LOCAL_MODELS_HOST: '127.0.0.1', LOCAL_LLM_PORT: server.port, LOCAL_LLM_PARALLEL: 2 };
  });
  after(async () => {
    await server?.stop();
    await engine?.dispose();
  });

  it('leaves the opening evaluated in every sequence, so two new rooms evaluate only their question', async () => {
    const assistant = spec('tutor', baseURL, 'You are a patient science tutor for children. Answer in one or two short, friendly sentences.');
    await warmLocalPrompts([assistant], config, logger);
    assert.ok(
      lines.some((l) => l.includes('local LLM warmed')),
      lines.join(''),
    );
    const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
    const firstTurn = (question: string) =>
      client.chat.completions.create({
        model: 'x',
        max_tokens: 8,
        messages: [
          { role: 'system', content: assistant.instructions },
          { role: 'assistant', content: assistant.greeting },
          { role: 'user', content: question },
        ],
      });
    // at once: each takes its own sequence
    const rooms = await Promise.all([firstTurn('Why is the sky blue?'), firstTurn('What do bees make?')]);
    for (const room of rooms) {
      const prompt = room.usage?.prompt_tokens ?? 0;
      const cached = room.usage?.prompt_tokens_details?.cached_tokens ?? -1;
      // instructions and greeting are about 40 tokens; the question and its template about 15
      assert.ok(cached >= 30 && prompt - cached <= 20, `cached ${cached} of ${prompt}`);
    }
  });

  it('leaves assistants of other LLMs alone, and reports a local LLM it cannot reach', async () => {
    const before = lines.length;
    await warmLocalPrompts([spec('remote', 'https://llm.example.invalid/v1', 'Be brief.')], config, logger);
    assert.equal(lines.length, before, 'nothing sent, nothing logged');
    const closedPort = { ...config, LOCAL_LLM_PORT: 9 };
    await warmLocalPrompts([spec('local', 'http://127.0.0.1:9/v1', 'Be brief.')], closedPort, logger);
    const warned = lines.slice(before).map((l) => JSON.parse(l) as { level: number; msg: string });
    assert.ok(
      warned.some((l) => l.level === 40 && l.msg.includes('warm-up failed')),
      JSON.stringify(warned),
    );
  });
});
