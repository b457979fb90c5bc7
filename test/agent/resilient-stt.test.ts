/**
 * ResilientSTT around the real OpenAI STT plugin (configured as job.ts configures it), against the
 * real Whisper STT server with its fault modes and a port nobody listens on, fed real synthetic speech (flite).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { initializeLogger, loggerOptions, stt } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';
import { openaiTranscriber, ResilientSTT, type SttFailure, type SttLink } from '../../src/agent/resilient-stt.js';
import { freeTcpPort } from '../support/ports.js';
import { speak } from '../support/speech.js';
import { startSttServer, type SttTestServer } from '../support/stt-server.js';
import { wordAccuracy } from '../support/word-accuracy.js';

const SENTENCE = 'Please turn on the kitchen lights.';

describe('ResilientSTT: a failing speech-to-text provider never ends the session', { timeout: 300_000 }, () => {
  let server: SttTestServer;
  let frame: AudioFrame;
  const host = () => `127.0.0.1:${server.port}`;

  before(async () => {
    if (!loggerOptions()) initializeLogger({ pretty: false, level: 'fatal' });
    server = await startSttServer();
    const speech = await speak(SENTENCE, { sampleRate: 48_000, padMs: 200 });
    frame = new AudioFrame(speech.pcm, speech.sampleRate, 1, speech.pcm.length);
  });
  after(async () => {
    await server?.stop();
  });

  /** The Whisper server, through the plugin as job.ts configures it (openaiTranscriber). */
  const serverLink = (): SttLink => ({
    stt: openaiTranscriber({ model: server.modelName, apiKey: 'test-key', baseURL: server.baseURL, language: 'en' }),
    provider: host(),
  });

  /** A provider that is not there: a local port with no listener (connection refused). */
  async function absentLink(): Promise<SttLink> {
    const port = await freeTcpPort();
    return {
      stt: openaiTranscriber({ model: 'whisper-1', apiKey: 'test-key', baseURL: `http://127.0.0.1:${port}/v1`, language: 'en' }),
      provider: `127.0.0.1:${port}`,
    };
  }

  /** The wrapper as job.ts builds it; by default around the Whisper server alone. */
  function resilient(timeoutMs: number, chain: SttLink[] = [serverLink()], restMs?: number) {
    const failures: SttFailure[] = [];
    const wrapped = new ResilientSTT({ chain, timeoutMs, ...(restMs !== undefined ? { restMs } : {}), onFailure: (f) => failures.push(f) });
    return { wrapped, failures };
  }

  const textOf = (event: stt.SpeechEvent) => event.alternatives?.[0]?.text;

  const assertEmptyFinal = (event: stt.SpeechEvent) => {
    assert.equal(event.type, stt.SpeechEventType.FINAL_TRANSCRIPT);
    assert.equal(textOf(event), '', 'a failure becomes an empty transcript');
  };

  it('passes a transcript through and reports nothing while the provider works', async () => {
    await server.setMode('ok');
    const { wrapped, failures } = resilient(60_000);
    const event = await wrapped.recognize([frame]);
    assert.equal(event.type, stt.SpeechEventType.FINAL_TRANSCRIPT);
    assert.ok(wordAccuracy(SENTENCE, textOf(event) ?? '') >= 0.8, `heard "${textOf(event)}"`);
    assert.deepEqual(failures, []);
    assert.equal(wrapped.provider, host());
    assert.equal(wrapped.model, server.modelName);
  });

  it('a provider that is down (HTTP 503) is reported as an error naming the status, and the call yields an empty transcript', async () => {
    await server.setMode('down');
    const { wrapped, failures } = resilient(60_000);
    assertEmptyFinal(await wrapped.recognize([frame]));
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.kind, 'error');
    assert.equal(failures[0]!.provider, host());
    assert.equal(failures[0]!.model, server.modelName);
    assert.match(failures[0]!.cause, /503/);
    assert.equal(failures[0]!.lost, true, 'with no other provider, the utterance is lost');
  });

  it('a 200 answer that is not a transcript is reported as garbage, not heard as silence', async () => {
    await server.setMode('garbage');
    const { wrapped, failures } = resilient(60_000);
    assertEmptyFinal(await wrapped.recognize([frame]));
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.kind, 'garbage');
    assert.match(failures[0]!.cause, /not a transcript/);
  });

  it('a provider that does not answer is given up on at the deadline (timeout), not waited for', async () => {
    const DELAY_MS = 60_000;
    const TIMEOUT_MS = 1000;
    await server.setMode('slow', DELAY_MS);
    const { wrapped, failures } = resilient(TIMEOUT_MS);
    const started = performance.now();
    assertEmptyFinal(await wrapped.recognize([frame]));
    const took = performance.now() - started;
    assert.ok(took >= TIMEOUT_MS - 5, `gave up after only ${took.toFixed(0)} ms`);
    assert.ok(took < DELAY_MS / 2, `waited ${took.toFixed(0)} ms for a provider that answers after ${DELAY_MS} ms`);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.kind, 'timeout');
    assert.match(failures[0]!.cause, new RegExp(`no transcript within ${TIMEOUT_MS} ms`));
  });

  it('a recognition the framework aborts (the turn went away) is passed on as an abort, not reported as a provider failure', async () => {
    await server.setMode('slow', 60_000);
    const { wrapped, failures } = resilient(30_000);
    const abort = new AbortController();
    const recognizing = wrapped.recognize([frame], abort.signal);
    setTimeout(() => abort.abort(), 300);
    await assert.rejects(recognizing, (err: Error) => err.name === 'AbortError' || /abort/i.test(err.message));
    assert.deepEqual(failures, [], 'an abort by the framework was reported as a provider failure');
  });

  it('recovers by itself: after failures, the next call to a working provider is a normal transcript', async () => {
    const { wrapped, failures } = resilient(60_000);
    await server.setMode('down');
    assertEmptyFinal(await wrapped.recognize([frame]));
    await server.setMode('ok');
    const event = await wrapped.recognize([frame]);
    assert.ok(wordAccuracy(SENTENCE, textOf(event) ?? '') >= 0.8, `after recovery heard "${textOf(event)}"`);
    assert.deepEqual(
      failures.map((f) => f.kind),
      ['error'],
      'only the failed call was reported',
    );
  });

  it('a provider that fails hands the utterance to the next of the chain: the words arrive, the failure is reported, nothing is lost', async () => {
    await server.setMode('ok');
    const absent = await absentLink();
    const { wrapped, failures } = resilient(60_000, [absent, serverLink()]);
    const event = await wrapped.recognize([frame]);
    assert.ok(wordAccuracy(SENTENCE, textOf(event) ?? '') >= 0.8, `heard "${textOf(event)}"`);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.provider, absent.provider);
    assert.equal(failures[0]!.kind, 'error');
    assert.match(failures[0]!.cause, /ECONNREFUSED/);
    assert.equal(failures[0]!.lost, false);
    // the failed provider rests: the next utterance goes to the one that answered, with no new failure
    assert.equal(wrapped.provider, host());
    const next = await wrapped.recognize([frame]);
    assert.ok(wordAccuracy(SENTENCE, textOf(next) ?? '') >= 0.8, `heard "${textOf(next)}"`);
    assert.equal(failures.length, 1, 'the resting provider was tried again at once');
  });

  it('when every provider of the chain fails, each failure is reported and only the last marks the utterance lost', async () => {
    await server.setMode('down');
    const absent = await absentLink();
    const { wrapped, failures } = resilient(60_000, [serverLink(), absent]);
    assertEmptyFinal(await wrapped.recognize([frame]));
    assert.deepEqual(
      failures.map((f) => [f.provider, f.kind, f.lost]),
      [
        [host(), 'error', false],
        [absent.provider, 'error', true],
      ],
    );
  });

  it('a provider that failed comes first again once its rest is over', async () => {
    // long enough that the transcription by the next provider (seconds on a loaded machine) ends well inside it
    const REST_MS = 8_000;
    await server.setMode('ok');
    const absent = await absentLink();
    const { wrapped, failures } = resilient(60_000, [absent, serverLink()], REST_MS);
    await wrapped.recognize([frame]);
    assert.equal(failures.length, 1);
    assert.equal(wrapped.provider, host(), 'resting, the failed provider comes after the others');
    await new Promise((resolve) => setTimeout(resolve, REST_MS + 100));
    assert.equal(wrapped.provider, absent.provider, 'rested, it is the first again');
    const event = await wrapped.recognize([frame]);
    assert.ok(wordAccuracy(SENTENCE, textOf(event) ?? '') >= 0.8, `heard "${textOf(event)}"`);
    assert.deepEqual(
      failures.map((f) => [f.provider, f.lost]),
      [
        [absent.provider, false],
        [absent.provider, false],
      ],
      'tried first again (and failed again), then the next provider answered',
    );
  });
});
