/** Hostile and broken requests to the OpenAI speech API: OpenAI-shaped errors with the right statuses, limits, cancellation, slow clients. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { eventually } from '../support/legacy.js';
import { useRealEngine } from '../support/legacy-unit.js';
import { NoiseSynthesizer } from '../support/fake-speech.js';
import { type RunningSpeechServer, startSpeechServer } from '../support/speech-server.js';
import { TEST_VOICE } from '../support/voices.js';

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

async function post(url: string, body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; body: ErrorBody; headers: Headers }> {
  const response = await fetch(`${url}/v1/audio/speech`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as ErrorBody, headers: response.headers };
}

function assertError(reply: { status: number; body: ErrorBody }, status: number, code: string, param: string | null = null): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.deepEqual(Object.keys(reply.body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(reply.body.error.code, code);
  assert.equal(reply.body.error.param, param);
  assert.ok(reply.body.error.message.length > 0);
}

const valid = { model: 'tts-1', voice: 'alloy', input: 'Hello there.', response_format: 'pcm' };

describe('OpenAI speech API: hostile input (real engine)', () => {
  const engine = useRealEngine();
  let server: RunningSpeechServer;
  before(async () => {
    server = await startSpeechServer(engine(), { LEGACY_MAX_MESSAGE_BYTES: '2048', LEGACY_MAX_TEXT_CHARS: '200' });
  });
  after(() => server?.stop());

  it('bad JSON, missing fields, oversized body and input, bad voice, speed and format: 400/413 naming the parameter', async () => {
    assertError(await post(server.httpUrl, '{"model": "tts-1", '), 400, 'invalid_json');
    assertError(await post(server.httpUrl, '[1, 2]'), 400, 'invalid_value', null);
    assertError(await post(server.httpUrl, { model: 'tts-1', voice: 'alloy' }), 400, 'missing_required_parameter', 'input');
    assertError(await post(server.httpUrl, { ...valid, input: '   ' }), 400, 'invalid_value', 'input');
    assertError(await post(server.httpUrl, { ...valid, input: 'x'.repeat(1900) }), 400, 'string_above_max_length', 'input');
    assertError(await post(server.httpUrl, { ...valid, input: 'x'.repeat(5000) }), 413, 'request_too_large');
    const voice = await post(server.httpUrl, { ...valid, voice: '../../etc/passwd' });
    assertError(voice, 400, 'voice_not_found', 'voice');
    assert.match(voice.body.error.message, new RegExp(TEST_VOICE));
    assertError(await post(server.httpUrl, { ...valid, speed: 5 }), 400, 'invalid_value', 'speed');
    assertError(await post(server.httpUrl, { ...valid, speed: 'fast' }), 400, 'invalid_value', 'speed');
    const flac = await post(server.httpUrl, { ...valid, response_format: 'flac' });
    assertError(flac, 400, 'unsupported_value', 'response_format');
    assert.match(flac.body.error.message, /"flac" is not available on this server; supported: mp3, wav, pcm/);
    assert.match((await post(server.httpUrl, { ...valid, response_format: 'ogg' })).body.error.message, /"ogg" is unknown; supported: mp3, wav, pcm/);
  });

  it('wrong method 405 (with Allow), unknown endpoint 404, plain GET / still asks for an upgrade', async () => {
    const get = await fetch(`${server.httpUrl}/v1/audio/speech`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal(((await get.json()) as ErrorBody).error.code, 'method_not_allowed');
    const models = await fetch(`${server.httpUrl}/v1/models`, { method: 'DELETE' });
    assert.equal(models.status, 405);
    const unknown = await fetch(`${server.httpUrl}/v1/chat/completions`, { method: 'POST', body: '{}' });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as ErrorBody).error.type, 'invalid_request_error');
    assert.equal((await fetch(`${server.httpUrl}/`)).status, 426);
  });
});

describe('OpenAI speech API: authentication, rate and concurrency limits', () => {
  const token = 'test-token-0123456789abcdef';
  let noise: NoiseSynthesizer;
  let server: RunningSpeechServer;
  before(async () => {
    noise = new NoiseSynthesizer(600);
    server = await startSpeechServer(noise, { LEGACY_AUTH_TOKEN: token, OPENAI_RATE_LIMIT_PER_MIN: '6', OPENAI_MAX_CONCURRENT_REQUESTS: '1' });
  });
  after(() => server?.stop());

  it('Authorization: Bearer is checked against LEGACY_AUTH_TOKEN (401 without or with a wrong token)', async () => {
    const none = await post(server.httpUrl, valid);
    assertError(none, 401, 'invalid_api_key');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assertError(await post(server.httpUrl, valid, { authorization: 'Bearer wrong-token-0123456789' }), 401, 'invalid_api_key');
    const client = new OpenAI({ baseURL: `${server.httpUrl}/v1`, apiKey: token, maxRetries: 0 });
    const models = await client.models.list();
    assert.ok(models.data.length > 0);
  });

  it('a second request while the one allowed is streaming gets 503; a client that goes away cancels its synthesis', async () => {
    const controller = new AbortController();
    const first = await fetch(`${server.httpUrl}/v1/audio/speech`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify(valid),
      signal: controller.signal,
    });
    assert.equal(first.status, 200);
    const reader = (first.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const busy = await post(server.httpUrl, valid, { authorization: `Bearer ${token}` });
    assertError(busy, 503, 'server_busy');
    assert.equal(busy.headers.get('retry-after'), '1');
    controller.abort();
    await eventually(() => noise.active === 0, 5000, 'the synthesis to be cancelled');
    await eventually(
      async () => /speech_syntheses_total\{protocol="openai",outcome="cancelled",mode="legacy"\} 1/.test(await server.metrics()),
      5000,
      'the cancelled count',
    );
  });

  it('more requests per minute than OPENAI_RATE_LIMIT_PER_MIN from one address get 429 with Retry-After', async () => {
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 10 && !limited; i++) {
      const reply = await post(server.httpUrl, { ...valid, voice: 'nope' }, { authorization: `Bearer ${token}` });
      if (reply.status === 429) limited = reply;
    }
    assert.ok(limited, 'a request was rate limited');
    assertError(limited, 429, 'rate_limit_exceeded');
    assert.equal(limited.body.error.type, 'rate_limit_error');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });
});

describe('OpenAI speech API: a client that stops reading', () => {
  let noise: NoiseSynthesizer;
  let server: RunningSpeechServer;
  before(async () => {
    noise = new NoiseSynthesizer(600);
    server = await startSpeechServer(noise, { LEGACY_SEND_HIGH_WATER_BYTES: '65536', LEGACY_SLOW_CONSUMER_TIMEOUT_MS: '500' });
  });
  after(() => server?.stop());

  it('is cut off after LEGACY_SLOW_CONSUMER_TIMEOUT_MS at the high-water mark; its synthesis stops', async () => {
    const port = Number(new URL(server.httpUrl).port);
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    const body = JSON.stringify(valid);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    socket.pause(); // never read: kernel buffers fill, then the server's
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await eventually(
      async () => /speech_errors_total\{protocol="openai",code="slow_consumer",mode="legacy"\} 1/.test(await server.metrics()),
      30_000,
      'slow consumer',
    );
    socket.resume();
    await closed;
    await eventually(() => noise.active === 0, 5000, 'the synthesis to stop');
  });
});
