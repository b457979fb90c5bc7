/** The OpenAI speech API with the real clients: the `openai` npm SDK and LiveKit's `openai.TTS` plugin, real Piper voice. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { initializeLogger, loggerOptions } from '@livekit/agents';
import * as openaiPlugin from '@livekit/agents-plugin-openai';
import OpenAI from 'openai';
import { useRealEngine } from '../support/legacy-unit.js';
import { concatInt16, decodeWav, heard, type RunningSpeechServer, samplesOf, startSpeechServer } from '../support/speech-server.js';
import { TEST_VOICE } from '../support/voices.js';
import { decodeMp3, mp3FrameAt, mp3Frames } from './mp3-stream.js';

const TEXT = 'The weather is nice today. Please open the door for me. I would like a cup of coffee.';
const LONG = `${TEXT} We are going to the store tomorrow. My brother lives in a small town. She reads a book every night.`;

describe('OpenAI speech API: real clients', () => {
  const engine = useRealEngine();
  let server: RunningSpeechServer;
  let client: OpenAI;

  before(async () => {
    server = await startSpeechServer(engine());
    client = new OpenAI({ baseURL: `${server.httpUrl}/v1`, apiKey: 'sk-anything', maxRetries: 0 });
  });
  after(() => server?.stop());

  it('speech.create (awaited whole): a well-formed streaming WAV, 24 kHz mono 16-bit, intelligible', async () => {
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: TEXT, response_format: 'wav' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'audio/wav');
    const bytes = new Uint8Array(await response.arrayBuffer());
    assert.equal(Buffer.from(bytes.subarray(0, 4)).toString('ascii'), 'RIFF');
    assert.equal(new DataView(bytes.buffer).getUint32(40, true), 0xffffffff, 'streaming header: data size unknown');
    const wav = decodeWav(bytes);
    assert.deepEqual([wav.sampleRate, wav.channels], [24000, 1]);
    const seconds = wav.pcm.length / 24000;
    assert.ok(seconds > 3 && seconds < 15, `${seconds} s of audio`);
    const { text, accuracy } = await heard(wav.pcm, 24000, TEXT);
    console.log(`  wav heard: "${text}" (${(accuracy * 100).toFixed(0)} %)`);
    assert.ok(accuracy >= 0.7, `word accuracy ${accuracy}`);
  });

  it('speech.create read as a stream (pcm): first bytes arrive after the first sentence, long before the whole text is done', async () => {
    const started = performance.now();
    const response = await client.audio.speech.create({
      model: 'gpt-4o-mini-tts',
      voice: TEST_VOICE,
      input: LONG,
      response_format: 'pcm',
      instructions: 'ignored',
    });
    assert.equal(response.headers.get('content-type'), 'audio/pcm');
    assert.equal(response.headers.get('transfer-encoding'), 'chunked');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const parts: Uint8Array[] = [];
    let firstByteMs: number | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      firstByteMs ??= performance.now() - started;
      parts.push(value);
    }
    const totalMs = performance.now() - started;
    const pcm = samplesOf(Buffer.concat(parts));
    const audioMs = (pcm.length / 24000) * 1000;
    console.log(`  pcm stream: first bytes ${firstByteMs?.toFixed(0)} ms, whole response ${totalMs.toFixed(0)} ms, ${audioMs.toFixed(0)} ms of audio`);
    assert.ok(firstByteMs !== undefined && firstByteMs < totalMs * 0.5, `first bytes at ${firstByteMs} ms of ${totalMs} ms`);
    const { text, accuracy } = await heard(pcm, 24000, LONG);
    console.log(`  pcm heard: "${text}" (${(accuracy * 100).toFixed(0)} %)`);
    assert.ok(accuracy >= 0.6, `word accuracy ${accuracy}`);
  });

  it('mp3 read as a stream: well-formed 24 kHz mono MPEG-2 Layer III frames, first bytes long before the end, intelligible', async () => {
    const started = performance.now();
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: LONG, response_format: 'mp3' });
    assert.equal(response.headers.get('content-type'), 'audio/mpeg');
    assert.equal(response.headers.get('transfer-encoding'), 'chunked');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const parts: Uint8Array[] = [];
    let firstByteMs: number | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      firstByteMs ??= performance.now() - started;
      parts.push(value);
    }
    const totalMs = performance.now() - started;
    const bytes = new Uint8Array(Buffer.concat(parts));
    console.log(`  mp3 stream: first bytes ${firstByteMs?.toFixed(0)} ms, whole response ${totalMs.toFixed(0)} ms, ${bytes.length} bytes`);
    assert.ok(firstByteMs !== undefined && firstByteMs < totalMs * 0.5, `first bytes at ${firstByteMs} ms of ${totalMs} ms`);
    assert.deepEqual([bytes[0], (bytes[1] ?? 0) & 0xe0], [0xff, 0xe0], 'frame sync 0xFFE');
    assert.deepEqual(mp3FrameAt(bytes, 0), { version: 2, layer: 3, kbps: 64, sampleRate: 24000, channels: 1, bytes: 192 });
    const frames = mp3Frames(bytes);
    assert.ok(frames.every((f) => f.sampleRate === 24000 && f.channels === 1 && f.version === 2));
    const seconds = (frames.length * 576) / 24000;
    assert.ok(seconds > 6 && seconds < 30, `${seconds} s in ${frames.length} frames`);
    const decoded = decodeMp3(bytes);
    assert.ok(decoded, 'libmpg123 is not installed: run `bash scripts/setup/apt.sh` (Debian libmpg123-0)');
    assert.deepEqual([decoded.sampleRate, decoded.channels], [24000, 1]);
    const { text, accuracy } = await heard(decoded.pcm, 24000, LONG);
    console.log(`  mp3 heard: "${text}" (${(accuracy * 100).toFixed(0)} %)`);
    assert.ok(accuracy >= 0.6, `word accuracy ${accuracy}`);
  });

  it('speed 2 makes about half the audio of speed 1', async () => {
    const lengths: number[] = [];
    for (const speed of [1, 2]) {
      const response = await client.audio.speech.create({
        model: 'tts-1',
        voice: 'nova',
        input: 'Thank you very much for your help.',
        response_format: 'pcm',
        speed,
      });
      lengths.push((await response.arrayBuffer()).byteLength);
    }
    const ratio = (lengths[1] ?? 0) / (lengths[0] ?? 1);
    // Pauses between words do not scale exactly with speed: well under 1, around a half.
    assert.ok(ratio > 0.35 && ratio < 0.8, `speed 2 / speed 1 length ratio ${ratio}`);
  });

  it('stream_format sse: speech.audio.delta events carry the audio, then speech.audio.done', async () => {
    const response = await client.audio.speech.create({
      model: 'gpt-4o-mini-tts',
      voice: 'alloy',
      input: 'It is time to go home now.',
      response_format: 'pcm',
      stream_format: 'sse',
    });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const events = (await response.text())
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => JSON.parse(e.slice(6)) as { type: string; audio?: string });
    assert.equal(events.at(-1)?.type, 'speech.audio.done');
    const audio = Buffer.concat(events.filter((e) => e.type === 'speech.audio.delta').map((e) => Buffer.from(e.audio ?? '', 'base64')));
    assert.ok(audio.length / 2 / 24000 > 1, `${audio.length} bytes of audio`);
  });

  it('GET /v1/models and /v1/audio/voices list the models and the installed voices', async () => {
    const models = await client.models.list();
    assert.ok(models.data.some((m) => m.id === 'tts-1'));
    const voices = (await (await fetch(`${server.httpUrl}/v1/audio/voices`)).json()) as { voices: string[]; data: Array<{ id: string; language: string }> };
    assert.ok(voices.voices.includes(TEST_VOICE));
    assert.equal(voices.data.find((v) => v.id === TEST_VOICE)?.language, 'en_US');
  });

  it("LiveKit's openai.TTS plugin pointed at the server synthesizes an intelligible sentence (24 kHz pcm)", async () => {
    if (!loggerOptions()) initializeLogger({ pretty: false, level: 'warn' });
    const tts = new openaiPlugin.TTS({ baseURL: `${server.httpUrl}/v1`, apiKey: 'sk-anything', model: 'tts-1', voice: 'alloy' });
    try {
      const sentence = 'Can you tell me where the station is?';
      const frames: Int16Array[] = [];
      let rate = 0;
      for await (const audio of tts.synthesize(sentence)) {
        frames.push(new Int16Array(audio.frame.data));
        rate = audio.frame.sampleRate;
      }
      assert.equal(rate, 24000);
      const pcm = concatInt16(frames);
      assert.ok(pcm.length / 24000 > 1, `${pcm.length / 24000} s`);
      const { text, accuracy } = await heard(pcm, 24000, sentence);
      console.log(`  plugin heard: "${text}" (${(accuracy * 100).toFixed(0)} %)`);
      assert.ok(accuracy >= 0.6, `word accuracy ${accuracy}`);
    } finally {
      await tts.close();
    }
  });
});
