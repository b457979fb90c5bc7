/**
 * The agent job processes' speech: a WyomingSynthesizer (what each job process uses) speaking
 * through the main process's speech service over the private Unix socket. Real engine, real socket.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpeechLink } from '../../src/agent/speech-link.js';
import { concatInt16 } from '../../src/audio/index.js';
import { createLogger } from '../../src/ops/logger.js';
import { VoiceCatalog } from '../../src/speech/voices.js';
import { WyomingSynthesizer } from '../../src/wyoming/client.js';
import { useRealEngine } from '../support/legacy-unit.js';
import { heard, type RunningSpeechServer, speechConfig, startSpeechServer } from '../support/speech-server.js';
import { TEST_VOICE, testVoicesDir } from '../support/voices.js';

const SENTENCE = 'Please open the door for me.';
/** About 40 s of speech. */
const LONG = Array.from({ length: 12 }, () => 'The weather is nice today and I would like a cup of coffee.').join(' ');

describe('speech link: job processes speak through the host speech service', () => {
  const engine = useRealEngine();
  let server: RunningSpeechServer;
  let link: SpeechLink;
  let dir: string;
  let remote: WyomingSynthesizer;

  before(async () => {
    server = await startSpeechServer(engine());
    dir = await mkdtemp(join(tmpdir(), 'vo-speech-link-'));
    link = new SpeechLink(server.speech, speechConfig(), createLogger(speechConfig({ LOG_LEVEL: 'silent' })));
    const env = await link.start(dir);
    const path = Object.values(env)[0] as string;
    remote = new WyomingSynthesizer({ path, voices: new VoiceCatalog(testVoicesDir(), TEST_VOICE) });
  });
  after(async () => {
    await link?.stop(Date.now() + 1000);
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('streams intelligible speech at the voice rate, counted under protocol="agent"', async () => {
    const rate = await remote.sampleRate(TEST_VOICE);
    const parts: Int16Array[] = [];
    const started = performance.now();
    let first = 0;
    for await (const chunk of remote.synthesize(SENTENCE, { voice: TEST_VOICE })) {
      first ||= performance.now() - started;
      assert.equal(chunk.sampleRate, rate);
      parts.push(chunk.pcm);
    }
    const pcm = concatInt16(parts);
    const { text, accuracy } = await heard(pcm, rate, SENTENCE);
    console.log(`  first audio ${first.toFixed(0)} ms over the link; heard "${text}" (${(accuracy * 100).toFixed(0)} %)`);
    assert.ok(accuracy >= 0.6, `heard "${text}"`);
    assert.ok(pcm.length / rate > 1, `only ${pcm.length / rate} s of audio`);
    assert.match(await server.metrics(), /speech_syntheses_total\{protocol="agent",outcome="completed",mode="legacy"\} 1/);
  });

  it('an abort (the user talked over the agent) stops the engine at once and frees it for the next text', async () => {
    const controller = new AbortController();
    const chunks = remote.synthesize(LONG, { signal: controller.signal });
    const iterator = chunks[Symbol.asyncIterator]();
    await iterator.next();
    const abortedAt = performance.now();
    controller.abort(new Error('interrupted'));
    await assert.rejects(iterator.next(), /interrupted/);
    // the service sees the connection close and cancels; the next text is not stuck behind the long one
    const started = performance.now();
    for await (const _ of remote.synthesize(SENTENCE)) break;
    const next = performance.now() - started;
    console.log(`  after an abort, the next text's first audio in ${next.toFixed(0)} ms`);
    assert.ok(next < 3000, `next text waited ${next.toFixed(0)} ms`);
    await waitForMetric(server, /speech_syntheses_total\{protocol="agent",outcome="cancelled",mode="legacy"\} 1/, 5000);
    assert.ok(performance.now() - abortedAt < 8000);
  });

  it('a voice that is not installed: a clear error, from the catalog and from the service', async () => {
    await assert.rejects(remote.sampleRate('xx_XX-nobody-low'), /voice "xx_XX-nobody-low" is not installed in VOICES_DIR/);
    await assert.rejects(async () => {
      for await (const _ of remote.synthesize('Hello there.', { voice: 'xx_XX-nobody-low' }));
    }, /speech service: voice "xx_XX-nobody-low" is not installed/);
  });

  it('a socket nobody listens on: a clear error naming the cause', async () => {
    const orphan = new WyomingSynthesizer({ path: join(dir, 'nothing.sock'), voices: new VoiceCatalog(testVoicesDir(), TEST_VOICE) });
    await assert.rejects(async () => {
      for await (const _ of orphan.synthesize('Hello there.'));
    }, /speech service unreachable: ENOENT/);
  });
});

async function waitForMetric(server: RunningSpeechServer, pattern: RegExp, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!pattern.test(await server.metrics())) {
    if (Date.now() > until) assert.fail(`no ${pattern} in /metrics within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
