import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { initializeLogger, llm as agentsLlm } from '@livekit/agents';
import * as openaiPlugin from '@livekit/agents-plugin-openai';
import { AudioFrame, AudioSource, LocalAudioTrack, Room, TrackPublishOptions, TrackSource, dispose } from '@livekit/rtc-node';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import OpenAI, { toFile } from 'openai';
import { startTestBench } from './bench.js';
import { startLiveKitServer, type LiveKitTestServer } from './livekit-server.js';
import { startLlmServer, type LlmTestServer } from './llm-server.js';
import { speak, speechToWav } from './speech.js';
import { startSttServer, type SttTestServer } from './stt-server.js';
import { wordAccuracy } from './word-accuracy.js';

describe('LiveKit test server (real livekit-server, loopback only)', () => {
  let server: LiveKitTestServer;
  before(async () => {
    server = await startLiveKitServer();
  });
  after(async () => {
    await server?.stop();
    await dispose();
  });

  it('answers the room service API with its generated keys on 127.0.0.1', async () => {
    assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    const rooms = new RoomServiceClient(server.httpUrl, server.apiKey, server.apiSecret);
    const name = `smoke-${Date.now()}`;
    await rooms.createRoom({ name });
    const listed = await rooms.listRooms();
    assert.ok(
      listed.some((room) => room.name === name),
      `room ${name} not listed`,
    );
  });

  it('lets a @livekit/rtc-node participant join over loopback ICE and publish audio', async () => {
    const roomName = `join-${Date.now()}`;
    const token = new AccessToken(server.apiKey, server.apiSecret, { identity: 'smoke-user' });
    token.addGrant({ roomJoin: true, room: roomName });
    const room = new Room();
    try {
      await room.connect(server.url, await token.toJwt(), { autoSubscribe: false, dynacast: false });
      const source = new AudioSource(48_000, 1);
      const track = LocalAudioTrack.createAudioTrack('mic', source);
      const options = new TrackPublishOptions();
      options.source = TrackSource.SOURCE_MICROPHONE;
      await room.localParticipant!.publishTrack(track, options);
      await source.captureFrame(new AudioFrame(new Int16Array(480), 48_000, 1, 480));
      const rooms = new RoomServiceClient(server.httpUrl, server.apiKey, server.apiSecret);
      const deadline = Date.now() + 10_000;
      let published = false;
      while (!published && Date.now() < deadline) {
        const participants = await rooms.listParticipants(roomName);
        published = participants.some((p) => p.identity === 'smoke-user' && p.tracks.length === 1);
        if (!published) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(published, 'participant with one published track not seen by the server within 10 s');
      await source.close();
    } finally {
      await room.disconnect();
    }
  });

  it('rejects API calls signed with a wrong secret', async () => {
    const rooms = new RoomServiceClient(server.httpUrl, server.apiKey, `${server.apiSecret}x`);
    await assert.rejects(rooms.listRooms());
  });

  it('restarts on the same ports and serves again (rooms are gone)', async () => {
    const before = { ...server.ports };
    const firstPid = server.pid;
    await server.restart({ hard: true });
    assert.deepEqual(server.ports, before);
    assert.notEqual(server.pid, firstPid);
    const rooms = new RoomServiceClient(server.httpUrl, server.apiKey, server.apiSecret);
    assert.deepEqual(await rooms.listRooms(), []);
  });
});

describe('STT test server (real Whisper tiny.en, OpenAI-compatible)', () => {
  let stt: SttTestServer;
  before(async () => {
    stt = await startSttServer();
  });
  after(async () => {
    await stt?.stop();
  });

  const sentences = [
    'The quick brown fox jumps over the lazy dog.',
    'Please tell me what the weather will be like tomorrow morning.',
    'I would like to book a table for dinner tonight.',
  ];

  for (const sentence of sentences) {
    it(`transcribes flite speech "${sentence}" with at least 80% word accuracy`, async (t) => {
      const speech = await speak(sentence, { padMs: 200 });
      const started = performance.now();
      const text = await stt.transcribe(speechToWav(speech));
      const latencyMs = performance.now() - started;
      const accuracy = wordAccuracy(sentence, text);
      t.diagnostic(`stt ${speech.durationMs.toFixed(0)} ms audio -> ${latencyMs.toFixed(0)} ms, accuracy ${accuracy.toFixed(2)}: "${text}"`);
      assert.ok(accuracy >= 0.8, `accuracy ${accuracy} for "${text}"`);
    });
  }

  it('serves the official openai client at baseURL with 48 kHz input', async () => {
    const sentence = 'Turn off the lights in the kitchen.';
    const speech = await speak(sentence, { sampleRate: 48_000, padMs: 200 });
    assert.equal(speech.sampleRate, 48_000);
    const client = new OpenAI({ baseURL: stt.baseURL, apiKey: 'test-key' });
    const result = await client.audio.transcriptions.create({
      file: await toFile(speechToWav(speech), 'speech.wav', { type: 'audio/wav' }),
      model: 'whisper-1',
      language: 'en',
    });
    assert.ok(wordAccuracy(sentence, result.text) >= 0.8, `got "${result.text}"`);
  });

  it('answers 503 in mode down, garbage in mode garbage, and recovers in mode ok', async () => {
    const wav = speechToWav(await speak('Hello there.', { padMs: 100 }));
    await stt.setMode('down');
    await assert.rejects(stt.transcribe(wav), /503/);
    await stt.setMode('garbage');
    await assert.rejects(stt.transcribe(wav));
    await stt.setMode('ok');
    assert.ok(wordAccuracy('hello there', await stt.transcribe(wav)) >= 0.5);
  });

  it('comes back on the same port after stop() and restart()', async () => {
    const wav = speechToWav(await speak('Good morning.', { padMs: 100 }));
    const port = stt.port;
    await stt.stop();
    await assert.rejects(stt.transcribe(wav));
    await stt.restart();
    assert.equal(stt.port, port);
    assert.ok(wordAccuracy('good morning', await stt.transcribe(wav)) >= 0.5);
  });

  it('rejects a request without audio with 400 and keeps serving', async () => {
    const form = new FormData();
    form.set('model', 'whisper-1');
    const response = await fetch(`${stt.baseURL}/audio/transcriptions`, { method: 'POST', body: form });
    assert.equal(response.status, 400);
    const health = await fetch(`${stt.baseURL.replace(/\/v1$/, '')}/health`);
    assert.equal(health.status, 200);
  });
});

describe('LLM test server (real SmolLM2-135M-Instruct via node-llama-cpp, OpenAI-compatible)', () => {
  let llm: LlmTestServer;
  let client: OpenAI;
  before(async () => {
    llm = await startLlmServer();
    client = new OpenAI({ baseURL: llm.baseURL, apiKey: 'test-key', maxRetries: 0 });
  });
  after(async () => {
    await llm?.stop();
  });

  it('streams a chat completion with usage through the official openai client', async (t) => {
    assert.equal(llm.isStandIn, false);
    const started = performance.now();
    let firstTokenMs = 0;
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    const stream = await client.chat.completions.create({
      model: llm.model,
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 40,
      messages: [
        { role: 'system', content: 'You are a friendly voice assistant. Answer in one short sentence.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
    });
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content ?? '';
      if (piece && !firstTokenMs) firstTokenMs = performance.now() - started;
      text += piece;
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    const totalMs = performance.now() - started;
    assert.ok(usage, 'no usage chunk');
    const tokensPerSecond = usage.completion_tokens / ((totalMs - firstTokenMs) / 1000);
    t.diagnostic(
      `llm ttft ${firstTokenMs.toFixed(0)} ms, ${usage.completion_tokens} tokens in ${totalMs.toFixed(0)} ms (${tokensPerSecond.toFixed(0)} tok/s after first): "${text}"`,
    );
    assert.match(text, /paris/i);
    assert.equal(finish, 'stop');
    assert.ok(usage.completion_tokens > 0 && usage.completion_tokens <= 40);
  });

  it('honours max_tokens: a long answer is cut with finish_reason "length"', async () => {
    const result = await client.chat.completions.create({
      model: llm.model,
      max_tokens: 8,
      messages: [{ role: 'user', content: 'Write a long story about a dragon who learns to cook.' }],
    });
    assert.equal(result.choices[0]?.finish_reason, 'length');
    assert.equal(result.usage?.completion_tokens, 8);
    assert.ok((result.choices[0]?.message.content ?? '').length > 0);
  });

  it('serves two streamed requests at once', async () => {
    const ask = async (question: string) => {
      const r = await client.chat.completions.create({ model: llm.model, max_tokens: 16, messages: [{ role: 'user', content: question }] });
      return r.choices[0]?.message.content ?? '';
    };
    const answers = await Promise.all([ask('Name a color.'), ask('Name an animal.')]);
    for (const answer of answers) assert.ok(answer.length > 0);
  });

  it('keeps serving after a client aborts mid-stream', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: llm.model, stream: true, max_tokens: 100, messages: [{ role: 'user', content: 'Count slowly from one to fifty.' }] },
      { signal: controller.signal },
    );
    let received = '';
    try {
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta.content ?? '';
        if (received.length > 0) controller.abort();
      }
    } catch {
      // The openai client may end the iteration with an abort error; either way the request is gone.
    }
    assert.ok(received.length > 0);
    const after = await client.chat.completions.create({ model: llm.model, max_tokens: 8, messages: [{ role: 'user', content: 'Say hello.' }] });
    assert.ok((after.choices[0]?.message.content ?? '').length > 0);
  });

  it('fails as told: 503 in mode down, delay in mode slow, unparsable data in mode garbage', async () => {
    const ask = () => client.chat.completions.create({ model: llm.model, max_tokens: 4, messages: [{ role: 'user', content: 'Hi' }] });
    try {
      llm.setMode('down');
      await assert.rejects(ask(), (error: unknown) => error instanceof OpenAI.APIError && error.status === 503);
      llm.setMode('garbage');
      await assert.rejects(ask());
      await assert.rejects(async () => {
        const stream = await client.chat.completions.create({ model: llm.model, stream: true, max_tokens: 4, messages: [{ role: 'user', content: 'Hi' }] });
        for await (const chunk of stream) void chunk;
      });
      llm.setMode('slow', 600);
      const started = performance.now();
      await ask();
      assert.ok(performance.now() - started >= 550, 'slow mode answered too fast');
    } finally {
      llm.setMode('ok');
    }
    assert.ok(((await ask()).choices[0]?.message.content ?? '').length > 0);
  });
});

describe('LLM STAND-IN server (connection refused and back)', () => {
  it('refuses connections after goAway() and serves again on the same port after comeBack()', async () => {
    const standIn = await startLlmServer({ engine: 'stand-in' });
    const client = new OpenAI({ baseURL: standIn.baseURL, apiKey: 'test-key', maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'ping' }] });
    try {
      await standIn.goAway();
      await assert.rejects(ask(), (error: unknown) => error instanceof OpenAI.APIConnectionError);
      await standIn.comeBack();
      assert.equal((await ask()).choices[0]?.message.content, 'You said: ping.');
    } finally {
      await standIn.stop();
    }
  });
});

describe('LLM STAND-IN server (not a model: echoes the last user message over the OpenAI protocol)', () => {
  it('streams the deterministic stand-in answer', async () => {
    const standIn = await startLlmServer({ engine: 'stand-in' });
    try {
      assert.equal(standIn.isStandIn, true);
      const client = new OpenAI({ baseURL: standIn.baseURL, apiKey: 'test-key', maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'anything',
        stream: true,
        messages: [{ role: 'user', content: 'Book a table for two' }],
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      assert.equal(text, 'You said: Book a table for two.');
    } finally {
      await standIn.stop();
    }
  });
});

describe('startTestBench', () => {
  it('starts all real peers together and gives the service variables pointing at them', async () => {
    const bench = await startTestBench();
    try {
      assert.equal(bench.env['LIVEKIT_URL'], bench.livekit?.url);
      assert.equal(bench.env['STT_BASE_URL'], bench.stt?.baseURL);
      assert.equal(bench.env['LLM_BASE_URL'], bench.llm?.baseURL);
      for (const url of [bench.env['STT_BASE_URL'], bench.env['LLM_BASE_URL']]) {
        const response = await fetch(`${url}/models`);
        assert.equal(response.status, 200);
      }
      const rooms = new RoomServiceClient(bench.livekit!.httpUrl, bench.env['LIVEKIT_API_KEY']!, bench.env['LIVEKIT_API_SECRET']!);
      assert.ok(Array.isArray(await rooms.listRooms()));
    } finally {
      await bench.stop();
    }
    assert.equal(bench.livekit?.running, false);
    assert.equal(bench.stt?.running, false);
  });
});

describe('the peers through the LiveKit agents OpenAI plugin (what the agent uses)', () => {
  it('plugin LLM streams an answer with usage and plugin STT transcribes 48 kHz frames', async () => {
    initializeLogger({ pretty: false, level: 'warn' });
    const bench = await startTestBench({ livekit: false });
    try {
      const model = new openaiPlugin.LLM({ model: bench.env['LLM_MODEL']!, baseURL: bench.env['LLM_BASE_URL']!, apiKey: 'k', maxCompletionTokens: 30 });
      const chatCtx = agentsLlm.ChatContext.empty();
      chatCtx.addMessage({ role: 'system', content: 'Answer in one short sentence.' });
      chatCtx.addMessage({ role: 'user', content: 'What is the capital of France?' });
      let text = '';
      let completionTokens = 0;
      for await (const chunk of model.chat({ chatCtx })) {
        text += chunk.delta?.content ?? '';
        completionTokens = chunk.usage?.completionTokens ?? completionTokens;
      }
      assert.match(text, /paris/i);
      assert.ok(completionTokens > 0 && completionTokens <= 30);

      const sentence = 'Please turn on the kitchen lights.';
      const speech = await speak(sentence, { sampleRate: 48_000, padMs: 200 });
      const stt = new openaiPlugin.STT({ model: bench.env['STT_MODEL']!, baseURL: bench.env['STT_BASE_URL']!, apiKey: 'k', language: 'en' });
      const event = await stt.recognize([new AudioFrame(speech.pcm, speech.sampleRate, 1, speech.pcm.length)]);
      const heard = event.alternatives?.[0]?.text ?? '';
      assert.ok(wordAccuracy(sentence, heard) >= 0.8, `heard "${heard}"`);
    } finally {
      await bench.stop();
    }
  });
});
