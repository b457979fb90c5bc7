/** One engine, one scheduler for three protocols: a long text of one protocol never holds back another protocol's first audio. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LegacyClient } from '../../src/legacy/client.js';
import { LONG_TEXT, useRealEngine } from '../support/legacy-unit.js';
import { type RunningSpeechServer, startSpeechServer } from '../support/speech-server.js';
import { RawWyoming } from '../support/wyoming-raw.js';

/** About 40 s of speech: 12 sentences. */
const LONG = [LONG_TEXT, LONG_TEXT, LONG_TEXT].join(' ');

describe('shared speech engine across legacy, OpenAI and Wyoming', () => {
  const engine = useRealEngine();
  let server: RunningSpeechServer;
  before(async () => {
    server = await startSpeechServer(engine(), { WYOMING_ENABLED: 'true' });
  });
  after(() => server?.stop());

  it("a short Wyoming text and a short legacy text get first audio within a sentence's time while a long OpenAI text streams", async () => {
    const started = performance.now();
    const long = await fetch(`${server.httpUrl}/v1/audio/speech`, {
      method: 'POST',
      body: JSON.stringify({ model: 'tts-1', voice: 'alloy', input: LONG, response_format: 'pcm' }),
    });
    const reader = (long.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    let longDone = 0;
    const draining = (async () => {
      for (;;) if ((await reader.read()).done) break;
      longDone = performance.now() - started;
    })();

    const wyoming = await RawWyoming.connect(server.wyomingPort);
    const legacy = await LegacyClient.connect(server.httpUrl.replace('http', 'ws'));
    try {
      const asked = performance.now();
      wyoming.send('synthesize', { text: 'Thank you very much for your help.' });
      legacy.say('It is time to go home now.');
      await wyoming.until((c) => c.ofType('audio-chunk').length > 0, 10_000, 'wyoming audio');
      const wyomingFirst = performance.now() - asked;
      await legacy.waitFor((m) => m.type === 'audio', 10_000);
      const legacyFirst = performance.now() - asked;
      await wyoming.until((c) => c.ofType('audio-stop').length > 0, 20_000, 'wyoming audio-stop');
      await legacy.waitFor((m) => m.type === 'session_end', 20_000);
      await draining;
      console.log(
        `  first audio under load: wyoming ${wyomingFirst.toFixed(0)} ms, legacy ${legacyFirst.toFixed(0)} ms; the long OpenAI text took ${longDone.toFixed(0)} ms`,
      );
      assert.ok(wyomingFirst < 4000 && legacyFirst < 4000, `first audio ${wyomingFirst} / ${legacyFirst} ms`);
      assert.ok(wyomingFirst < longDone - (asked - started) && legacyFirst < longDone - (asked - started), 'the short texts did not wait for the long one');
      const metrics = await server.metrics();
      for (const protocol of ['legacy', 'openai', 'wyoming']) {
        assert.match(metrics, new RegExp(`speech_syntheses_total\\{protocol="${protocol}",outcome="completed",mode="legacy"\\} 1`));
        assert.match(metrics, new RegExp(`speech_first_chunk_seconds_count\\{[^}]*protocol="${protocol}"[^}]*\\} 1`));
      }
    } finally {
      wyoming.close();
      legacy.terminate();
    }
  });
});
