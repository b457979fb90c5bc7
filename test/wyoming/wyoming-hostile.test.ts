/** Hostile and broken Wyoming clients: error events, closes, limits, slow and vanishing clients. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/legacy.js';
import { NoiseSynthesizer } from '../support/fake-speech.js';
import { type RunningSpeechServer, startSpeechServer } from '../support/speech-server.js';
import { TEST_VOICE } from '../support/voices.js';
import { RawWyoming } from '../support/wyoming-raw.js';

const closedWithError = (code: string) => (c: RawWyoming) => c.closed && c.ofType('error').some((e) => e.data['code'] === code);

describe('Wyoming server: hostile input', () => {
  let noise: NoiseSynthesizer;
  let server: RunningSpeechServer;
  const clients: RawWyoming[] = [];
  const open = async () => {
    const client = await RawWyoming.connect(server.wyomingPort);
    clients.push(client);
    return client;
  };
  before(async () => {
    noise = new NoiseSynthesizer(3, 22050);
    server = await startSpeechServer(noise, {
      WYOMING_ENABLED: 'true',
      WYOMING_MAX_HEADER_BYTES: '512',
      WYOMING_MAX_DATA_BYTES: '1024',
      WYOMING_MAX_PAYLOAD_BYTES: '2048',
      WYOMING_MAX_CONNECTIONS: '3',
      WYOMING_RATE_LIMIT_PER_SEC: '1',
      WYOMING_RATE_LIMIT_BURST: '5',
      LEGACY_MAX_TEXT_CHARS: '100',
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  for (const [name, bytes, code] of [
    ['a header that is not JSON', 'this is not json\n', 'malformed_event'],
    ['a header without a type', '{"data_length": 0}\n', 'malformed_event'],
    ['a negative data_length', '{"type": "describe", "data_length": -5}\n', 'malformed_event'],
    ['data that is not a JSON object', '{"type": "synthesize", "data_length": 3}\n[1]', 'malformed_event'],
    ['a header longer than WYOMING_MAX_HEADER_BYTES', `{"type": "synthesize", "data": {"text": "${'a'.repeat(600)}"}}\n`, 'header_too_large'],
    ['an endless header line', 'x'.repeat(2000), 'header_too_large'],
    ['data_length over WYOMING_MAX_DATA_BYTES', '{"type": "synthesize", "data_length": 100000}\n', 'data_too_large'],
    ['payload_length over WYOMING_MAX_PAYLOAD_BYTES', '{"type": "audio-chunk", "payload_length": 100000000}\n', 'payload_too_large'],
  ] as const) {
    it(`${name}: an error event (${code}), then the connection is closed`, async () => {
      const client = await open();
      client.raw(bytes);
      await client.until(closedWithError(code), 5000, code);
    });
  }

  it('unknown events are dropped; an event split into single bytes is read; limits on text and streams answer errors and keep the connection', async () => {
    const client = await open();
    client.send('run-pipeline', { start_stage: 'wake' }, new Uint8Array(100));
    for (const byte of Buffer.from('{"type": "describe"}\n')) client.raw(Buffer.from([byte]));
    await client.until((c) => c.ofType('info').length === 1, 5000, 'info');
    client.send('synthesize', { text: 'x'.repeat(101) });
    client.send('synthesize-chunk', { text: 'Hello.' });
    client.send('synthesize', { text: 42 });
    await client.until((c) => c.ofType('error').length === 3, 5000, 'three errors');
    assert.deepEqual(
      client.ofType('error').map((e) => e.data['code']),
      ['text_too_long', 'no_stream', 'invalid_event'],
    );
    assert.equal(client.closed, false);
  });

  it('more events per second than WYOMING_RATE_LIMIT_PER_SEC (beyond the burst) get rate_limited errors', async () => {
    const client = await open();
    for (let i = 0; i < 8; i++) client.send('ping', { text: String(i) });
    await client.until((c) => c.ofType('pong').length + c.ofType('error').length >= 8, 5000, 'answers');
    assert.ok(client.ofType('pong').length <= 6, `${client.ofType('pong').length} pongs`);
    assert.ok(client.ofType('error').every((e) => e.data['code'] === 'rate_limited'));
  });

  it('connections beyond WYOMING_MAX_CONNECTIONS get too_many_connections and are closed', async () => {
    for (const c of clients.splice(0)) c.close();
    await new Promise((r) => setTimeout(r, 200));
    const held = [await open(), await open(), await open()];
    const extra = await open();
    await extra.until(closedWithError('too_many_connections'), 5000, 'refusal');
    for (const c of held) assert.equal(c.closed, false);
  });
});

describe('Wyoming server: slow, idle and vanishing clients', () => {
  let noise: NoiseSynthesizer;
  let server: RunningSpeechServer;
  before(async () => {
    noise = new NoiseSynthesizer(600, 22050);
    server = await startSpeechServer(noise, {
      WYOMING_ENABLED: 'true',
      WYOMING_IDLE_TIMEOUT_MS: '1000',
      LEGACY_SEND_HIGH_WATER_BYTES: '65536',
      LEGACY_SLOW_CONSUMER_TIMEOUT_MS: '500',
    });
  });
  after(() => server?.stop());

  it('an idle connection is closed after WYOMING_IDLE_TIMEOUT_MS with an idle_timeout error', async () => {
    const client = await RawWyoming.connect(server.wyomingPort);
    const started = Date.now();
    await client.until(closedWithError('idle_timeout'), 5000, 'idle close');
    assert.ok(Date.now() - started >= 900);
  });

  it('a client that disconnects mid-synthesis cancels it', async () => {
    const client = await RawWyoming.connect(server.wyomingPort);
    client.send('synthesize', { text: 'Speak for a long time.', voice: { name: TEST_VOICE } });
    await client.until((c) => c.ofType('audio-chunk').length > 5, 5000, 'audio');
    client.close();
    await eventually(() => noise.active === 0, 5000, 'the synthesis to be cancelled');
    await eventually(
      async () => /speech_syntheses_total\{protocol="wyoming",outcome="cancelled",mode="legacy"\} 1/.test(await server.metrics()),
      5000,
      'cancelled',
    );
  });

  it('a client that stops reading is cut off after LEGACY_SLOW_CONSUMER_TIMEOUT_MS', async () => {
    const client = await RawWyoming.connect(server.wyomingPort);
    client.send('synthesize', { text: 'Speak for a long time.' });
    client.socket.pause();
    await eventually(
      async () => /speech_errors_total\{protocol="wyoming",code="slow_consumer",mode="legacy"\} 1/.test(await server.metrics()),
      30_000,
      'slow consumer',
    );
    client.socket.resume();
    await client.until((c) => c.closed, 10_000, 'close');
    await eventually(() => noise.active === 0, 5000, 'the synthesis to stop');
  });
});
