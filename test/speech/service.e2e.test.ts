/** The real service process in legacy mode, as a user runs it: an OpenAI SDK client and the wyoming package's client side by side. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { type ServerProcess, startServerProcess } from '../support/legacy.js';
import { freeTcpPort } from '../support/ports.js';
import { decodeWav, heard, wyomingPeer } from '../support/speech-server.js';

describe('legacy mode process: OpenAI and Wyoming clients', () => {
  let server: ServerProcess;
  let wyomingPort: number;
  before(async () => {
    wyomingPort = await freeTcpPort();
    server = await startServerProcess({ WYOMING_ENABLED: 'true', WYOMING_PORT: String(wyomingPort) });
  });
  after(() => server?.stop());

  it('serves both, reports the wyoming component ready and speech metrics by protocol', async () => {
    const text = 'Turn off the lights when you leave.';
    const client = new OpenAI({ baseURL: `${server.url.replace('ws://', 'http://')}/v1`, apiKey: 'unused', maxRetries: 0 });
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'echo', input: text, response_format: 'wav' });
    const wav = decodeWav(new Uint8Array(await response.arrayBuffer()));
    assert.equal(wav.sampleRate, 24000);
    const openaiHeard = await heard(wav.pcm, wav.sampleRate, text);
    const { code, result } = await wyomingPeer(wyomingPort, ['synthesize', '--text', text]);
    assert.equal(code, 0, JSON.stringify(result));
    assert.ok(result.audio, 'wyoming audio');
    const wyomingHeard = await heard(result.audio.pcm, result.audio.sampleRate, text);
    console.log(`  openai: "${openaiHeard.text}"; wyoming: "${wyomingHeard.text}"`);
    assert.ok(openaiHeard.accuracy >= 0.4 && wyomingHeard.accuracy >= 0.4, `${openaiHeard.accuracy} / ${wyomingHeard.accuracy}`);

    const ready = (await (await fetch(`${server.healthUrl}/status`)).json()) as { components: Array<{ name: string }> };
    assert.ok(ready.components.some((c) => c.name === 'wyoming'));
    const metrics = await (await fetch(`${server.healthUrl}/metrics`)).text();
    for (const protocol of ['openai', 'wyoming'])
      assert.match(metrics, new RegExp(`speech_syntheses_total\\{[^}]*protocol="${protocol}"[^}]*outcome="completed"[^}]*\\} 1`));
  });
});
