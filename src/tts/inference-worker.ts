import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ModelRewrite, ModelRewriteOptions } from './model-rewrites.js';

/**
 * onnxruntime-node runs a session synchronously on the calling thread, so inference on the main
 * thread would freeze every socket for the length of a sentence. Each voice gets one worker
 * thread holding its session; sentences queue on it in order. The thread loads the model rewritten as asked
 * (model-rewrites.ts: TTS_DENSE_SPLINES, TTS_DENSE_ATTENTION, TTS_FUSE_LAYER_NORMS, TTS_WIDE_CONVOLUTIONS), or the file as it is when no rewrite applies or
 * onnxruntime does not take the rewritten model. With TTS_PARALLEL_DECODER the model is cut before its decoder's last
 * stages (decoder-tail.ts): the thread runs the head, then the tail in time slices, one here and the others on helper
 * threads of its own (TAIL_HELPER_SOURCE), at once.
 *
 * The worker's code is a plain script (eval) so it runs the same under tsx, node and bundles.
 */

export interface SessionOptionsForWorker {
  intraOpNumThreads: number;
  /** Compute the duration predictor's masked splines on every value (spline.ts; default false). */
  denseSplines?: boolean;
  /** Compute the text encoder's relative-position attention through a position map (relative-attention.ts; default false). */
  denseAttention?: boolean;
  /** Fuse the model's spelled-out layer normalizations (layer-norm.ts; default false). */
  fuseLayerNorms?: boolean;
  /** Run the model's wide 1-D convolutions as 2-D ones (conv2d.ts; default false). */
  widenConvolutions?: boolean;
  /**
   * Run the decoder's last stages as time slices, one per intra-op thread (at most MAX_DECODER_SLICES), each on its own
   * thread (decoder-tail.ts; default false).
   */
  parallelDecoder?: boolean;
  /**
   * Let pool threads busy-wait between the parallel steps of an inference instead of sleeping and being woken for
   * each one (faster on cores that are otherwise free, slower when other processes want them). They stop spinning
   * as soon as the inference returns, so an idle voice costs no CPU either way.
   */
  allowSpinning: boolean;
}

export interface WorkerRunRequest {
  ids: Int32Array;
  scales: Float32Array;
  speakerId: number | undefined;
}

/**
 * A helper thread of a voice whose decoder runs as time slices (decoder-tail.ts): it holds a 1-thread session of the
 * decoder's tail and runs one slice at a time for the voice's inference thread.
 */
const TAIL_HELPER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
ort.InferenceSession.create(workerData.model, workerData.sessionOptions).then(
  (s) => { session = s; parentPort.postMessage({ type: 'ready' }); },
  (err) => parentPort.postMessage({ type: 'failed', message: String(err && err.message || err) }),
);
parentPort.on('message', async (msg) => {
  if (msg.type === 'close') {
    try { await session?.release(); } catch {}
    parentPort.close();
    return;
  }
  try {
    const out = (await session.run({ [workerData.cut]: new ort.Tensor('float32', msg.data, msg.dims) }))[workerData.output];
    parentPort.postMessage({ type: 'result', data: out.data, dims: out.dims }, [out.data.buffer]);
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: String(err && err.message || err) });
  }
});
`;

const WORKER_SOURCE = `
const { parentPort, workerData, Worker } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
// The decoder's tail when it runs as time slices: { cut, output, scale, halo, session (this thread's), helpers }
let tail;
const sessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  intraOpNumThreads: workerData.intraOpNumThreads,
  interOpNumThreads: 1,
  logSeverityLevel: 3,
  extra: workerData.extra,
};
const tailSessionOptions = { ...sessionOptions, intraOpNumThreads: 1 };
// The model rewritten (model-rewrites.ts), or undefined: then the file is loaded as it is.
async function rewritten(options) {
  const rewrites = workerData.rewrites;
  if (!rewrites) return undefined;
  try {
    let mod;
    if (rewrites.tsxCjsApi) {
      // TypeScript source (tsx): an eval'd thread does not get the parent's loader, so compile these modules here
      const unregister = require(rewrites.tsxCjsApi).register();
      try { mod = require(rewrites.path); } finally { unregister?.(); }
    } else {
      mod = await import(require('node:url').pathToFileURL(rewrites.path).href);
    }
    const result = mod.rewriteModel(() => require('node:fs').readFileSync(workerData.modelPath), options, collectGarbage);
    return result.applied.length > 0 ? result : undefined;
  } catch {
    return undefined;
  }
}
// Each rewrite leaves the bytes it replaced as garbage, and the last ones are garbage once onnxruntime holds its own
// copy: each as large as the model. An idle thread allocates nothing that would start a collection, so they would stay
// resident (about 190 MB for a medium voice), and pile up during the load.
function collectGarbage() {
  const v8 = require('node:v8');
  v8.setFlagsFromString('--expose-gc');
  try { require('node:vm').runInNewContext('gc')(); } catch {} finally { v8.setFlagsFromString('--no-expose-gc'); }
}
function startHelper(split) {
  const helper = new Worker(workerData.tailHelperSource, {
    eval: true,
    workerData: { ortPath: workerData.ortPath, model: split.tail, cut: split.cut, output: split.output, sessionOptions: tailSessionOptions },
  });
  return new Promise((resolve, reject) => {
    helper.once('error', reject);
    helper.once('message', (msg) => {
      helper.off('error', reject);
      if (msg.type !== 'ready') {
        void helper.terminate();
        return reject(new Error(msg.message));
      }
      // a helper that dies takes this thread with it: the voice is then reloaded like any crashed one
      helper.on('error', () => process.exit(1));
      helper.on('exit', () => { if (!helper.closing) process.exit(1); });
      resolve(helper);
    });
  });
}
// The head and the tail's sessions, or throws (and leaves none).
async function startSplit(split) {
  const started = [];
  try {
    const tailSession = await ort.InferenceSession.create(split.tail, tailSessionOptions);
    tail = { cut: split.cut, output: split.output, scale: split.scale, halo: split.halo, session: tailSession, helpers: [] };
    for (let i = 1; i < workerData.decoderSlices; i++) started.push(startHelper(split));
    tail.helpers = await Promise.all(started);
    session = await ort.InferenceSession.create(split.head, sessionOptions);
    // onnxruntime and the helpers hold their own copies; without this the head's 60 MB stayed resident (measured)
    split.head = split.tail = undefined;
  } catch (err) {
    await closeTail(started);
    throw err;
  }
}
async function closeTail(started = tail ? tail.helpers.map((h) => Promise.resolve(h)) : []) {
  const helpers = (await Promise.allSettled(started)).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  for (const h of helpers) h.closing = true;
  await Promise.all(helpers.map((h) => new Promise((res) => { h.once('exit', res); h.postMessage({ type: 'close' }); })));
  try { await tail?.session.release(); } catch {}
  tail = undefined;
}
async function start() {
  try {
    const options = workerData.rewrites?.options;
    let result = await rewritten(options);
    collectGarbage(); // the model before the last step, still reachable until rewriteModel returned
    let rewrites = [];
    if (result?.split) {
      try {
        await startSplit(result.split);
        rewrites = result.applied;
      } catch {
        result = undefined;
        collectGarbage();
        result = await rewritten({ ...options, parallelDecoder: false });
      }
    }
    if (result && !session) {
      try {
        session = await ort.InferenceSession.create(result.model, sessionOptions);
        rewrites = result.applied;
      } catch {}
    }
    result = undefined; // onnxruntime holds its own copy
    collectGarbage();
    session ??= await ort.InferenceSession.create(workerData.modelPath, sessionOptions);
    const outputNames = tail ? [tail.output] : session.outputNames;
    parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames, rewrites });
  } catch (err) {
    parentPort.postMessage({ type: 'failed', message: String(err && err.message || err) });
  }
}
function floatData(tensor, what) {
  if (!tensor || tensor.type !== 'float32') throw new Error(what + ' is not float32');
  return tensor.data;
}
// One slice of the tail on a helper thread: { data, dims }.
function runOnHelper(helper, data, dims) {
  return new Promise((resolve, reject) => {
    helper.once('message', (msg) => (msg.type === 'result' ? resolve(msg) : reject(new Error(msg.message))));
    helper.postMessage({ data, dims }, [data.buffer]);
  });
}
// The tail on the head's output, in slices of time run at once (this thread and the helpers): the slices overlap by the
// tail's halo, and each keeps only its own part of the output. Short inputs get fewer slices (each at least 8 halos).
async function runTail(x) {
  const data = floatData(x, 'the decoder cut');
  const dims = x.dims;
  const length = dims[dims.length - 1];
  const rows = data.length / length;
  const count = Math.max(1, Math.min(tail.helpers.length + 1, Math.floor(length / (8 * tail.halo))));
  const scale = tail.scale;
  const slices = [];
  for (let i = 0; i < count; i++) {
    const own = [Math.floor((i * length) / count), Math.floor(((i + 1) * length) / count)];
    const from = Math.max(0, own[0] - tail.halo);
    const to = Math.min(length, own[1] + tail.halo);
    const input = new Float32Array(rows * (to - from));
    for (let r = 0; r < rows; r++) input.set(data.subarray(r * length + from, r * length + to), r * (to - from));
    slices.push({ own, from, to, input, dims: [...dims.slice(0, -1), to - from] });
  }
  const remote = slices.slice(1).map((s, i) => runOnHelper(tail.helpers[i], s.input, s.dims));
  let local;
  try {
    const out = (await tail.session.run({ [tail.cut]: new ort.Tensor('float32', slices[0].input, slices[0].dims) }))[tail.output];
    local = { data: floatData(out, 'the decoder output'), dims: out.dims };
  } finally {
    await Promise.allSettled(remote); // never leave a helper's reply to the next sentence
  }
  const outputs = [local, ...(await Promise.all(remote))];
  const outRows = outputs[0].data.length / ((slices[0].to - slices[0].from) * scale);
  const audio = new Float32Array(outRows * length * scale);
  outputs.forEach((out, i) => {
    const s = slices[i];
    const width = (s.to - s.from) * scale;
    if (out.dims[out.dims.length - 1] !== width || out.data.length !== outRows * width) throw new Error('the decoder returned ' + out.dims[out.dims.length - 1] + ' samples for a slice of ' + width);
    for (let r = 0; r < outRows; r++) {
      audio.set(out.data.subarray(r * width + (s.own[0] - s.from) * scale, r * width + (s.own[1] - s.from) * scale), r * length * scale + s.own[0] * scale);
    }
  });
  return audio;
}
async function infer(msg) {
  const n = msg.ids.length;
  const input = new BigInt64Array(n);
  for (let i = 0; i < n; i++) input[i] = BigInt(msg.ids[i]);
  const feeds = {
    input: new ort.Tensor('int64', input, [1, n]),
    input_lengths: new ort.Tensor('int64', BigInt64Array.of(BigInt(n)), [1]),
    scales: new ort.Tensor('float32', msg.scales, [3]),
  };
  if (msg.speakerId !== undefined) feeds.sid = new ort.Tensor('int64', BigInt64Array.of(BigInt(msg.speakerId)), [1]);
  const results = await session.run(feeds);
  if (tail) return runTail(results[tail.cut]);
  return floatData(results[session.outputNames[0]], 'the model output');
}
async function handle(msg) {
  if (msg.type === 'close') {
    await closeTail();
    try { await session?.release(); } catch {}
    parentPort.close();
    return;
  }
  try {
    const audio = await infer(msg);
    parentPort.postMessage({ type: 'result', id: msg.id, audio }, [audio.buffer]);
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: String(err && err.message || err) });
  }
}
// one message at a time: a close waits for the sentence in progress and its helpers
let queue = Promise.resolve();
parentPort.on('message', (msg) => { queue = queue.then(() => handle(msg)); });
start();
`;

/** model-rewrites next to this file, in the same form as this one (.ts under tsx, with tsx's require hook; .js compiled). */
const REWRITES_MODULE = ((): { path: string; tsxCjsApi: string | undefined } | undefined => {
  const here = fileURLToPath(import.meta.url);
  const path = join(dirname(here), `model-rewrites${extname(here)}`);
  if (extname(here) !== '.ts') return { path, tsxCjsApi: undefined };
  try {
    return { path, tsxCjsApi: createRequire(import.meta.url).resolve('tsx/cjs/api') };
  } catch {
    return undefined; // TypeScript without tsx: load models as they are
  }
})();

/** Most time slices the decoder's tail runs in (so most threads a voice starts): more gain little on a sentence. */
const MAX_DECODER_SLICES = 4;

/** Threads the decoder's tail may run on: one per intra-op thread. */
function decoderSlices(options: SessionOptionsForWorker): number {
  if (!options.parallelDecoder) return 1;
  return Math.min(MAX_DECODER_SLICES, options.intraOpNumThreads > 0 ? options.intraOpNumThreads : availableParallelism());
}

/** What the thread needs to rewrite the model, or undefined when no rewrite is asked for (or none can be loaded). */
function rewriteRequest(options: SessionOptionsForWorker, slices: number) {
  const wanted: ModelRewriteOptions = {
    denseSplines: options.denseSplines === true,
    denseAttention: options.denseAttention === true,
    fuseLayerNorms: options.fuseLayerNorms === true,
    widenConvolutions: options.widenConvolutions === true,
    parallelDecoder: slices > 1,
  };
  if (!REWRITES_MODULE || !Object.values(wanted).some(Boolean)) return undefined;
  return { ...REWRITES_MODULE, options: wanted };
}

/** Longest close() waits for a thread that is still inside an inference. */
const BUSY_THREAD_EXIT_MS = 120_000;

type Pending = { resolve: (audio: Float32Array) => void; reject: (err: Error) => void };

export class InferenceWorker {
  private readonly pending = new Map<number, Pending>();
  /** Runs posted to the thread and not answered yet, even when their callers were already failed. */
  private inThread = 0;
  private nextId = 1;
  private closed = false;
  private exited = false;
  private failure: Error | undefined;
  private readonly deathListeners: Array<(err: Error) => void> = [];

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    /** The rewrites of the model the session runs (none: the file as it is). */
    readonly rewrites: readonly ModelRewrite[],
  ) {
    worker.on('message', (msg: { type: string; id: number; audio?: Float32Array; message?: string }) => {
      if (msg.type === 'result' || msg.type === 'error') this.inThread = Math.max(0, this.inThread - 1);
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      if (msg.type === 'result' && msg.audio) p.resolve(msg.audio);
      else p.reject(new Error(msg.message ?? 'inference failed'));
    });
    worker.on('error', (err) => this.failAll(new Error(`inference worker failed: ${err.message}`)));
    worker.on('exit', (code) => {
      this.exited = true;
      this.failAll(new Error(`inference worker stopped (exit code ${code})`));
    });
    worker.unref(); // an idle voice must not keep the process alive
  }

  /** Starts a worker and creates the session; rejects with onnxruntime's message if it cannot. */
  static start(modelPath: string, options: SessionOptionsForWorker): Promise<InferenceWorker> {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    const slices = decoderSlices(options);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        ortPath,
        modelPath,
        rewrites: rewriteRequest(options, slices),
        tailHelperSource: TAIL_HELPER_SOURCE,
        decoderSlices: slices,
        intraOpNumThreads: options.intraOpNumThreads,
        extra: {
          session: {
            intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' },
            // spinning, when allowed, ends with each run instead of going on after it (no idle CPU between sentences)
            force_spinning_stop: '1',
          },
        },
      },
    });
    return new Promise((resolve, reject) => {
      const onMessage = (msg: { type: string; inputNames?: string[]; outputNames?: string[]; rewrites?: ModelRewrite[]; message?: string }) => {
        worker.off('error', onError);
        worker.off('message', onMessage);
        if (msg.type === 'ready') resolve(new InferenceWorker(worker, msg.inputNames ?? [], msg.outputNames ?? [], msg.rewrites ?? []));
        else {
          void worker.terminate();
          reject(new Error(msg.message ?? 'could not create the session'));
        }
      };
      const onError = (err: Error) => {
        worker.off('message', onMessage);
        reject(err);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
  }

  /** False once the thread has died or was closed. */
  get alive(): boolean {
    return !this.closed && this.failure === undefined;
  }

  /** `listener` runs once if the thread dies unexpectedly (not after close()). */
  onDeath(listener: (err: Error) => void): void {
    if (this.failure && !this.closed) listener(this.failure);
    else this.deathListeners.push(listener);
  }

  /**
   * Stops the thread as a crash would (pending sentences reject; death listeners run). A thread in
   * the middle of an inference is asked to exit after it instead: terminating a thread inside
   * onnxruntime's run() aborts the whole process.
   */
  async terminate(): Promise<void> {
    if (this.inThread === 0) {
      await this.worker.terminate();
      return;
    }
    this.failAll(new Error('inference worker stopped (terminated during an inference)'));
    this.worker.postMessage({ type: 'close' });
  }

  /** A worker that goes away without close() died (uncaught error, out of memory, terminated). */
  private failAll(err: Error): void {
    const first = this.failure === undefined;
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (first && !this.closed) for (const listener of this.deathListeners.splice(0)) listener(this.failure);
  }

  run(request: WorkerRunRequest): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error('the voice was unloaded'));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.inThread++;
      this.worker.ref(); // keep the process alive while a sentence is in flight
      this.worker.postMessage({ type: 'run', id, ...request });
    });
  }

  /** Waits for queued sentences, then frees the session and the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.deathListeners.length = 0;
    if (this.exited) return; // died earlier: nothing left to free
    this.worker.ref(); // keep the process alive until the thread is gone
    await Promise.allSettled(
      [...this.pending.keys()].map(
        (id) =>
          new Promise<void>((res) => {
            const p = this.pending.get(id);
            if (!p) return res();
            const { resolve, reject } = p;
            this.pending.set(id, {
              resolve: (a) => {
                resolve(a);
                res();
              },
              reject: (e) => {
                reject(e);
                res();
              },
            });
          }),
      ),
    );
    this.worker.postMessage({ type: 'close' });
    const exited = new Promise<void>((res) => (this.exited ? res() : this.worker.once('exit', () => res())));
    // A thread still inside an inference (one whose caller already gave up) exits when it is done:
    // terminating it inside onnxruntime's run() would abort the whole process. One inference is
    // bounded by TTS_MAX_PHONEMES_PER_CHUNK; the bound here only guards against a thread that hangs.
    const deadline = Date.now() + 2000;
    const busyDeadline = Date.now() + BUSY_THREAD_EXIT_MS;
    while (!this.exited && (Date.now() < deadline || (this.inThread > 0 && Date.now() < busyDeadline))) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((res) => (timer = setTimeout(res, 100)))]);
      clearTimeout(timer);
    }
    if (!this.exited) await this.worker.terminate();
  }
}
