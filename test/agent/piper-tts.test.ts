import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { initializeLogger, loggerOptions } from '@livekit/agents';
import { loadConfig } from '../../src/config/load.js';
import { requireTestVoice, TEST_VOICE as VOICE } from '../support/voices.js';
import { PiperEngine } from '../../src/tts/engine.js';
import { PiperTTS } from '../../src/agent/piper-tts.js';
import { concatInt16, firstAbove } from '../../src/audio/index.js';

describe('Piper as a LiveKit TTS plugin (real voice)', () => {
  let engine: PiperEngine;
  let tts: PiperTTS;

  before(async () => {
    const voicesDir = requireTestVoice(VOICE);
    if (!loggerOptions()) initializeLogger({ pretty: false, level: 'warn' });
    engine = new PiperEngine(loadConfig({ env: { VOICES_DIR: voicesDir, TTS_VOICE: VOICE } }).config);
    await engine.load(VOICE, true);
    tts = new PiperTTS({ engine, voice: VOICE, sampleRate: await engine.sampleRate(VOICE) });
  });

  after(async () => {
    await tts?.close();
  });

  it('streams a sentence as 20 ms frames at the voice rate, the last one marked final', async () => {
    const frames = [];
    for await (const audio of tts.synthesize('The quick brown fox jumps over the lazy dog.')) frames.push(audio);
    assert.equal(tts.sampleRate, 22050);
    assert.ok(frames.length > 50, `${frames.length} frames`);
    for (const audio of frames.slice(0, -1)) {
      assert.equal(audio.frame.sampleRate, 22050);
      assert.equal(audio.frame.samplesPerChannel, 441);
      assert.equal(audio.final, false);
    }
    assert.equal(frames.at(-1)!.final, true);
    const seconds = frames.reduce((s, a) => s + a.frame.samplesPerChannel, 0) / 22050;
    assert.ok(seconds > 1.5 && seconds < 6, `${seconds} s of audio`);
    const peak = Math.max(...frames.flatMap((a) => Array.from(a.frame.data, Math.abs)));
    assert.ok(peak > 10_000, 'the audio is speech, not silence');
  });

  it('starts the voice within 10 ms of the first frame: the near-silence Piper puts before a sentence is cut', async () => {
    const text = 'What a lovely morning.';
    const raw: Int16Array[] = [];
    for await (const chunk of engine.synthesize(text, { voice: VOICE })) raw.push(chunk.pcm);
    const rawOnset = firstAbove(concatInt16(raw), 64);
    const frames = [];
    for await (const audio of tts.synthesize(text)) frames.push(audio.frame.data);
    const onset = firstAbove(concatInt16(frames), 64);
    assert.ok(rawOnset >= 0.02 * 22050, `the engine's own output starts with ${rawOnset} quiet samples`);
    assert.ok(onset >= 0 && onset <= Math.round(0.01 * 22050), `onset at sample ${onset}`);
  });

  it('frames several sentences as one contiguous stream: every frame but the last is 20 ms', async () => {
    const frames = [];
    for await (const audio of tts.synthesize('One sentence here. And then a second one.')) frames.push(audio);
    assert.ok(frames.length > 20, `${frames.length} frames`);
    for (const audio of frames.slice(0, -1)) assert.equal(audio.frame.samplesPerChannel, 441);
    const last = frames.at(-1)!;
    assert.ok(last.final && last.frame.samplesPerChannel >= 1 && last.frame.samplesPerChannel <= 441);
  });

  it('synthesizes concurrent requests one after another, in request order', async () => {
    const first = tts.synthesize('This is the first sentence, and it is fairly long.');
    const second = tts.synthesize('Second.');
    const times: Array<{ which: number; at: number }> = [];
    await Promise.all(
      [first, second].map(async (stream, which) => {
        for await (const _ of stream) times.push({ which, at: performance.now() });
      }),
    );
    const lastOfFirst = Math.max(...times.filter((t) => t.which === 0).map((t) => t.at));
    const firstOfSecond = Math.min(...times.filter((t) => t.which === 1).map((t) => t.at));
    assert.ok(firstOfSecond >= lastOfFirst, 'the second request produced audio before the first finished');
  });

  it('stops promptly when aborted', async () => {
    const controller = new AbortController();
    const stream = tts.synthesize('One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten.', undefined, controller.signal);
    let frames = 0;
    const started = performance.now();
    for await (const _ of stream) {
      frames++;
      if (frames === 1) controller.abort();
    }
    assert.ok(performance.now() - started < 3000);
    const full = (await tts.synthesize('One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten.').collect()).samplesPerChannel / 441;
    assert.ok(frames < full / 2, `${frames} frames after abort, ${full} for the whole text`);
  });
});
