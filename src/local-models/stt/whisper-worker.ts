/**
 * Worker thread of WhisperEngine (whisper-engine.ts; started by whisper-worker-thread.ts, messages in
 * whisper-worker-protocol.ts): loads the ggml model once, then transcribes one request at a time.
 * @napi-rs/whisper's `full()` blocks its thread for the whole transcription, which is why it lives here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type Segment, Whisper, WhisperFullParams, WhisperSamplingStrategy } from '@napi-rs/whisper';
import type { TranscriptionSegment } from './transcription-types.js';
import {
  type FromWorker,
  firstPass,
  repeatsItself,
  SAFE_AUDIO_CTX,
  type TranscribeMessage,
  type WorkerInit,
  withoutRepetition,
} from './whisper-worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('whisper-worker.ts runs as a worker thread of WhisperEngine');
const init = workerData as WorkerInit;
const send = (msg: FromWorker) => port.postMessage(msg);

function params(audioCtx: number, language: string, prompt: string, temperature: number, singleSegment: boolean, maxTokens = 0): WhisperFullParams {
  const p = new WhisperFullParams(WhisperSamplingStrategy.Greedy);
  p.nThreads = init.threads;
  p.language = language;
  p.translate = false;
  p.noContext = true;
  p.singleSegment = singleSegment;
  p.audioCtx = audioCtx;
  if (maxTokens > 0) p.maxTokens = maxTokens;
  p.temperature = temperature;
  p.suppressBlank = true;
  p.suppressNonSpeechTokens = true;
  p.printProgress = false;
  p.printRealtime = false;
  p.printTimestamps = false;
  p.printSpecial = false;
  if (prompt.length > 0) p.initialPrompt = prompt;
  return p;
}

/** Languages the model transcribes: every language whisper.cpp knows for a multilingual model, else English. */
function languages(multilingual: boolean): Array<{ code: string; name: string }> {
  if (!multilingual) return [{ code: 'en', name: 'english' }];
  const known: Array<{ code: string; name: string }> = [];
  for (let id = 0; id <= Whisper.maxLangId(); id++) {
    const code = Whisper.lang(id);
    if (code) known.push({ code, name: Whisper.langFull(id) ?? code });
  }
  return known;
}

/** The binding reports segments through a callback that runs after `full()` returns, on a later turn of the loop. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

// @napi-rs/whisper 0.0.4 segfaults the whole process when a worker that never created one of its objects exits
// (as one whose model failed to load does): one parameter object, kept for the thread's life, avoids that.
const keepAlive = new WhisperFullParams(WhisperSamplingStrategy.Greedy);
let whisper: Whisper;
const started = performance.now();
try {
  whisper = new Whisper(init.modelPath, { useGpu: false });
  // one short run so the first real request does not pay for first-touch allocations
  whisper.full(params(init.warmUpAudioCtx, 'en', '', 0, true), new Float32Array(16_000));
} catch (err) {
  send({ type: 'load-failed', message: (err as Error).message });
  port.close();
  process.exit(0);
}
const multilingual = whisper.isMultilingual !== 0;
send({ type: 'ready', multilingual, languages: languages(multilingual), loadMs: performance.now() - started });

port.on('message', async (msg: TranscribeMessage) => {
  // (keepAlive is referenced here so that it lives as long as this handler)
  if (msg.type !== 'transcribe' || !keepAlive) return;
  const pass = async (audioCtx: number, maxTokens: number) => {
    const segments: TranscriptionSegment[] = [];
    const p = params(audioCtx, msg.language, msg.prompt, msg.temperature, msg.singleSegment, maxTokens);
    // whisper.cpp timestamps are in units of 10 ms
    p.onNewSegment = (s: Segment) => segments.push({ text: s.text.trim(), startMs: s.start * 10, endMs: s.end * 10 });
    const text = whisper.full(p, msg.samples);
    await settle();
    return { text, segments };
  };
  try {
    const t0 = performance.now();
    const first = firstPass(msg.samples.length, msg.audioCtx, msg.language);
    let result = await pass(first.audioCtx, first.maxTokens);
    // a loop at the small context (see SAFE_AUDIO_CTX): once more at the safe one
    if (first.maxTokens > 0 && repeatsItself(result.text)) result = await pass(SAFE_AUDIO_CTX, 0);
    send({ type: 'result', id: msg.id, ...withoutRepetition(result.text, result.segments), ms: performance.now() - t0 });
  } catch (err) {
    send({ type: 'failed', id: msg.id, message: (err as Error).message });
  }
});
