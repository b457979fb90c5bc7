import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AudioFrame, AudioSource, LocalAudioTrack, Room, TrackPublishOptions, TrackSource, dispose } from '@livekit/rtc-node';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import OpenAI, { toFile } from 'openai';
import { startLiveKitServer, type LiveKitTestServer } from './livekit-server.js';
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
    assert.ok(listed.some((room) => room.name === name), `room ${name} not listed`);
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

  it('rejects a request without audio with 400 and keeps serving', async () => {
    const form = new FormData();
    form.set('model', 'whisper-1');
    const response = await fetch(`${stt.baseURL}/audio/transcriptions`, { method: 'POST', body: form });
    assert.equal(response.status, 400);
    const health = await fetch(`${stt.baseURL.replace(/\/v1$/, '')}/health`);
    assert.equal(health.status, 200);
  });
});
