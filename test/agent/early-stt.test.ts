/**
 * EarlySTT with the real Silero VAD and a real Whisper server, fed flite speech at real-time pace:
 * the transcription starts at the user's first pause, before the VAD ends the utterance; a pause
 * the user speaks through throws the early transcript away. As in a session, the audio goes to
 * both the session's VAD stream (SharedVAD), which a loop reads, and the STT stream.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { type AudioBuffer, initializeLogger, loggerOptions, stt, VADEventType } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { AudioFrame, dispose } from '@livekit/rtc-node';
import { EarlySTT } from '../../src/agent/early-stt.js';
import { concatInt16 } from '../../src/audio/index.js';
import { SharedVAD } from '../../src/agent/shared-vad.js';
import { openaiTranscriber, ResilientSTT, type SttFailure } from '../../src/agent/resilient-stt.js';
import { padWithSilence, pcmFrames, speak } from '../support/speech.js';
import { startSttServer, type SttTestServer } from '../support/stt-server.js';
import { wordAccuracy } from '../support/word-accuracy.js';

const RATE = 48_000;
const FIRST = 'What is the capital city of France?';
const SECOND = 'And what about Germany?';

/** The transcriber as job.ts builds it, recording when each request starts and whether it was cancelled. */
class RecordingSTT extends stt.STT {
  label = 'recording';
  /** `cancelled`: the request had been aborted when it settled (all of them are once the stream closes). */
  readonly calls: Array<{ at: number; aborted: () => boolean; cancelled?: boolean }> = [];
  constructor(private readonly inner: stt.STT) {
    super({ streaming: false, interimResults: false });
  }
  protected _recognize(buffer: AudioBuffer, abortSignal?: AbortSignal): Promise<stt.SpeechEvent> {
    const call: RecordingSTT['calls'][number] = { at: performance.now(), aborted: () => abortSignal?.aborted ?? false };
    this.calls.push(call);
    const result = this.inner.recognize(buffer, abortSignal);
    const settled = () => {
      call.cancelled = call.aborted();
    };
    result.then(settled, settled);
    return result;
  }
  stream(): stt.SpeechStream {
    throw new Error('not streaming');
  }
}

function trimSilence(pcm: Int16Array): Int16Array {
  const loud = (x: number) => Math.abs(x) > 300;
  const start = pcm.findIndex(loud);
  const end = pcm.findLastIndex(loud);
  return start < 0 ? pcm : pcm.subarray(start, end + 1);
}

interface Heard {
  /** When the session's loop read the VAD's end of speech. */
  sessionEndOfSpeech: number[];
  events: Array<{ type: stt.SpeechEventType; at: number; text?: string }>;
  calls: RecordingSTT['calls'];
  failures: SttFailure[];
}

describe('EarlySTT: transcribing at the first pause', { timeout: 300_000 }, () => {
  let server: SttTestServer;
  let vad: silero.VAD;
  let first: Int16Array;
  let second: Int16Array;

  before(async () => {
    if (!loggerOptions()) initializeLogger({ pretty: false, level: 'fatal' });
    server = await startSttServer();
    vad = (await silero.VAD.load({ minSilenceDuration: 400, minSpeechDuration: 50, activationThreshold: 0.5 })) as silero.VAD;
    first = (await speak(FIRST, { sampleRate: RATE })).pcm;
    second = (await speak(SECOND, { sampleRate: RATE })).pcm;
  });
  after(async () => {
    await server?.stop();
    // the VAD resamples through rtc-node's native resampler, whose runtime keeps the process alive
    await dispose();
  });

  /** Plays `pcm` into a stream of EarlySTT at real-time pace and collects what it says until `settleMs` after the audio. */
  async function listen(pcm: Int16Array, earlyMs: number, settleMs = 4000, sessionVadModel: silero.VAD = vad): Promise<Heard> {
    const failures: SttFailure[] = [];
    const provider = openaiTranscriber({ model: server.modelName, apiKey: 'test-key', baseURL: server.baseURL, language: 'en' });
    const recording = new RecordingSTT(
      new ResilientSTT({ chain: [{ stt: provider, provider: 'test' }], timeoutMs: 60_000, onFailure: (f) => failures.push(f) }),
    );
    const sessionVad = new SharedVAD(sessionVadModel);
    const vadStream = sessionVad.stream();
    const sessionEndOfSpeech: number[] = [];
    const sessionReading = (async () => {
      for await (const event of vadStream) if (event.type === VADEventType.END_OF_SPEECH) sessionEndOfSpeech.push(performance.now());
    })();
    const stream = new EarlySTT({ inner: recording, vad: sessionVad, earlyMs }).stream();
    const events: Heard['events'] = [];
    const reading = (async () => {
      for await (const event of stream) events.push({ type: event.type, at: performance.now(), text: event.alternatives?.[0]?.text });
    })();
    const started = performance.now();
    let playedMs = 0;
    for (const samples of pcmFrames(pcm, RATE, 20)) {
      const frame = new AudioFrame(samples, RATE, 1, samples.length);
      vadStream.pushFrame(frame);
      stream.pushFrame(frame);
      playedMs += 20;
      const ahead = started + playedMs - performance.now();
      if (ahead > 0) await sleep(ahead);
    }
    await sleep(settleMs);
    stream.close();
    vadStream.close();
    await Promise.all([reading.catch(() => {}), sessionReading.catch(() => {})]);
    return { sessionEndOfSpeech, events, calls: recording.calls, failures };
  }

  const finals = (heard: Heard) => heard.events.filter((e) => e.type === stt.SpeechEventType.FINAL_TRANSCRIPT);
  const endOfSpeech = (heard: Heard) => heard.events.find((e) => e.type === stt.SpeechEventType.END_OF_SPEECH);

  it('starts transcribing before the VAD ends the utterance, and that transcript is the final one', async () => {
    const heard = await listen(padWithSilence(first, RATE, 1500), 150);
    const end = endOfSpeech(heard);
    assert.ok(end, 'the VAD ended the utterance');
    assert.equal(heard.sessionEndOfSpeech.length, 1, "the session's VAD stream ended it");
    assert.ok(end.at >= heard.sessionEndOfSpeech[0]!, "heard from the session's VAD stream, once the session has read it");
    assert.equal(heard.calls.length, 1, 'one transcription for one utterance');
    const call = heard.calls[0]!;
    assert.ok(call.at < end.at - 100, `the transcription started ${Math.round(end.at - call.at)} ms before the end of the utterance`);
    const [final] = finals(heard);
    assert.equal(finals(heard).length, 1);
    assert.ok(wordAccuracy(FIRST, final!.text ?? '') >= 0.8, `heard "${final!.text}"`);
    assert.ok(final!.at >= end.at, 'the final transcript follows the end of speech, as the framework expects');
    assert.deepEqual(heard.failures, []);
  });

  it('says the early transcript as a preflight transcript while the VAD still waits for the end of the utterance', async () => {
    // a VAD that ends utterances after 1.5 s of silence: the early transcript surely arrives before
    const patient = (await silero.VAD.load({ minSilenceDuration: 1500, minSpeechDuration: 50, activationThreshold: 0.5 })) as silero.VAD;
    const heard = await listen(padWithSilence(first, RATE, 2500), 64, 4000, patient);
    const end = endOfSpeech(heard);
    assert.ok(end);
    const preflight = heard.events.filter((e) => e.type === stt.SpeechEventType.PREFLIGHT_TRANSCRIPT);
    assert.equal(preflight.length, 1, 'the early transcript, as soon as it arrived');
    assert.ok(preflight[0]!.at < end.at, 'before the VAD ended the utterance: the session can start its reply on it');
    const [final] = finals(heard);
    assert.equal(finals(heard).length, 1);
    assert.equal(preflight[0]!.text, final!.text, 'the same words, then as the final transcript');
    assert.ok(wordAccuracy(FIRST, final!.text ?? '') >= 0.8, `heard "${final!.text}"`);
  });

  it('with early transcription off, transcribes only once the utterance has ended', async () => {
    const heard = await listen(padWithSilence(first, RATE, 1500), 0);
    const end = endOfSpeech(heard);
    assert.ok(end);
    assert.equal(heard.calls.length, 1);
    // (the end-of-speech event is queued just before the request starts, and read just after)
    assert.ok(heard.calls[0]!.at >= end.at - 50, 'the transcription started at the end of the utterance');
    assert.ok(wordAccuracy(FIRST, finals(heard)[0]?.text ?? '') >= 0.8);
  });

  it('drops the early transcript when the user speaks again, and transcribes the whole utterance', async () => {
    // flite pads its speech with silence: trim it so the pause is exactly 250 ms
    const pause = new Int16Array((RATE * 250) / 1000);
    const both = padWithSilence(Int16Array.from([...trimSilence(first), ...pause, ...trimSilence(second)]), RATE, 1500);
    const heard = await listen(both, 150, 6000);
    assert.equal(heard.events.filter((e) => e.type === stt.SpeechEventType.END_OF_SPEECH).length, 1, 'a 250 ms pause does not end the utterance');
    assert.ok(heard.calls.length >= 2, `an early transcription at the pause, then another (${heard.calls.length} calls)`);
    assert.ok(heard.calls[0]!.aborted(), 'the early transcription at the pause was cancelled');
    const all = finals(heard);
    assert.equal(all.length, 1, `one final transcript: ${JSON.stringify(all.map((f) => f.text))}`);
    assert.ok(wordAccuracy(`${FIRST} ${SECOND}`, all[0]!.text ?? '') >= 0.8, `heard "${all[0]!.text}"`);
    const preflights = heard.events.filter((e) => e.type === stt.SpeechEventType.PREFLIGHT_TRANSCRIPT).map((e) => e.text ?? '');
    assert.ok(
      preflights.every((text) => wordAccuracy(`${FIRST} ${SECOND}`, text) >= 0.8),
      `no preflight transcript of the first part only (cancelled in time): ${JSON.stringify(preflights)}`,
    );
    assert.deepEqual(heard.failures, []);
  });

  it('waits twice as long at each pause the user speaks through: a few early transcriptions per utterance, not one per pause', async () => {
    const phrases = ['Tell me', 'the capital city', 'of France', 'and of Germany', 'please'];
    const pause = new Int16Array((RATE * 300) / 1000);
    const parts: Int16Array[] = [];
    for (const [i, phrase] of phrases.entries()) {
      if (i > 0) parts.push(pause);
      parts.push(trimSilence((await speak(phrase, { sampleRate: RATE })).pcm));
    }
    const utterance = concatInt16(parts);
    // four 300 ms pauses: the first two are longer than 64 and 128 ms, the last than neither 512 nor the VAD's 400
    const heard = await listen(padWithSilence(utterance, RATE, 1500), 64, 6000);
    assert.equal(heard.events.filter((e) => e.type === stt.SpeechEventType.END_OF_SPEECH).length, 1, 'one utterance');
    const cancelled = heard.calls.filter((c) => c.cancelled).length;
    assert.ok(cancelled >= 2 && cancelled <= 3, `${cancelled} early transcriptions cancelled at 4 pauses (each waits twice as long as the one before)`);
    assert.equal(heard.calls.length - cancelled, 1, 'one transcription of the whole utterance');
    const all = finals(heard);
    assert.equal(all.length, 1);
    assert.ok(wordAccuracy(phrases.join(' '), all[0]!.text ?? '') >= 0.7, `heard "${all[0]!.text}"`);
    assert.deepEqual(heard.failures, []);
  });
});
