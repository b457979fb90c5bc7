/**
 * One Whisper worker thread: spawned (with tsx's loader when its module is TypeScript), given a time limit to load
 * and warm up its model, then watched: its answers and an unexpected end are passed on to the owner.
 */
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LocalModelFileError, MODELS_SETUP_COMMAND } from '../model-files.js';
import type { FromWorker, TranscribeAnswer, TranscribeMessage, WorkerInit } from './whisper-worker-protocol.js';

export interface WhisperWorkerThread {
  /** What the loaded model understands, as the worker reported it. */
  readonly multilingual: boolean;
  readonly languages: ReadonlyArray<{ code: string; name: string }>;
  readonly loadMs: number;
  /** Sends a transcription; the samples' buffer moves to the thread. */
  send(message: TranscribeMessage): void;
  /** Stops the thread on purpose (its exit is then no crash). A thread inside whisper.cpp ends only when its transcription returns. */
  stop(): Promise<void>;
}

export interface WhisperWorkerEvents {
  /** The thread's answer to a transcribe message. */
  onAnswer(thread: WhisperWorkerThread, answer: TranscribeAnswer): void;
  /** The thread failed or ended, after its model had loaded, without being stopped (reported once). */
  onCrash(thread: WhisperWorkerThread, reason: string): void;
}

export interface WhisperWorkerStart {
  /** The worker module; default whisper-worker next to this file. */
  workerUrl?: URL;
  init: WorkerInit;
  /** How long the thread may take to load its model, ms. */
  loadTimeoutMs: number;
}

/** The worker module next to this one (.ts when run by tsx, .js when compiled). */
function defaultWorkerUrl(): URL {
  return new URL(`./whisper-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
}

/**
 * A worker thread running the module `entry`. tsx's loader is registered for the main thread only (on Node 20),
 * so a TypeScript entry gets it registered in the worker first.
 */
function spawnWorker(entry: URL, workerData: WorkerInit): Worker {
  const tsx = entry.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;
  const bootstrap = `
const { workerData } = require('node:worker_threads');
const { entry, tsx } = workerData.bootstrap;
(tsx ? import(tsx).then((api) => api.register()) : Promise.resolve()).then(() => import(entry));
`;
  return new Worker(bootstrap, { eval: true, workerData: { ...workerData, bootstrap: { entry: entry.href, tsx } } });
}

/**
 * Starts a worker thread and resolves once its model is loaded and warmed up. Rejects (and stops the thread) when
 * the model cannot be loaded (LocalModelFileError naming the file and the set-up command), the thread fails while
 * loading, or the load takes longer than `loadTimeoutMs`.
 */
export function startWhisperWorker(start: WhisperWorkerStart, events: WhisperWorkerEvents): Promise<WhisperWorkerThread> {
  const worker = spawnWorker(start.workerUrl ?? defaultWorkerUrl(), start.init);
  const file = basename(start.init.modelPath);
  let stopping = false;
  const stop = (): Promise<void> => {
    stopping = true;
    return worker.terminate().then(() => undefined);
  };
  return new Promise<WhisperWorkerThread>((resolve, reject) => {
    let thread: WhisperWorkerThread | undefined;
    const fail = (err: Error) => {
      clearTimeout(timer);
      void stop();
      reject(err);
    };
    const crashed = (reason: string) => {
      if (!thread || stopping) return;
      void stop();
      events.onCrash(thread, reason);
    };
    const timer = setTimeout(() => fail(new Error(`the speech-to-text model ${file} did not load within ${start.loadTimeoutMs} ms`)), start.loadTimeoutMs);
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') {
        if (thread) return;
        clearTimeout(timer);
        thread = {
          multilingual: msg.multilingual,
          languages: msg.languages,
          loadMs: msg.loadMs,
          send: (message) => worker.postMessage(message, [message.samples.buffer as ArrayBuffer]),
          stop,
        };
        resolve(thread);
      } else if (msg.type === 'load-failed') {
        if (thread) return;
        fail(
          new LocalModelFileError(
            `the speech-to-text model ${file} could not be loaded (${msg.message}); delete it and run \`${MODELS_SETUP_COMMAND}\` to install it again`,
          ),
        );
      } else if (thread) events.onAnswer(thread, msg);
    });
    worker.on('error', (err) => {
      if (thread) crashed(err.message);
      else fail(new Error(`the speech-to-text worker failed while loading ${file}: ${err.message}`));
    });
    worker.on('exit', (code) => {
      if (thread) crashed(`exit code ${code}`);
      else if (!stopping) fail(new Error(`the speech-to-text worker stopped while loading ${file} (exit code ${code})`));
    });
  });
}
