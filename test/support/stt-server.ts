import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PeerMissingError, peerCacheDir } from './cache.js';
import { PeerProcess, httpOk, waitUntilReady } from './child-process.js';
import { freeTcpPort } from './ports.js';

/** Fault modes of the test peers: `down` = HTTP 503, `slow` = delay first, `garbage` = 200 with a non-JSON body. */
export type PeerMode = 'ok' | 'down' | 'slow' | 'garbage';

export interface SttServerOptions {
  port?: number;
  /** Model id the server reports on /v1/models (any requested model name is accepted). Default `whisper-1`. */
  modelName?: string;
  /** CPU threads for Whisper; default 2. */
  threads?: number;
  readyTimeoutMs?: number;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVER_SCRIPT = join(REPO_ROOT, 'scripts', 'peers', 'stt_server.py');

function sttPython(): string {
  const python = join(peerCacheDir(), 'venv-stt', 'bin', 'python');
  const stamp = join(peerCacheDir(), 'venv-stt', '.vo-installed');
  if (!existsSync(python) || !existsSync(stamp)) {
    throw new PeerMissingError('STT server (faster-whisper + Whisper tiny.en)', 'stt', 'no finished venv-stt in $VO_CACHE');
  }
  return python;
}

/**
 * A real OpenAI-compatible speech-to-text server (Whisper tiny.en via faster-whisper) on 127.0.0.1.
 * Use `baseURL` as `STT_BASE_URL`; any API key is accepted.
 */
export class SttTestServer {
  readonly port: number;
  readonly modelName: string;
  private proc: PeerProcess;
  private constructor(
    private readonly options: SttServerOptions,
    port: number,
    modelName: string,
  ) {
    this.port = port;
    this.modelName = modelName;
    this.proc = this.spawn();
  }

  static async start(options: SttServerOptions = {}): Promise<SttTestServer> {
    sttPython();
    const server = new SttTestServer(options, options.port ?? (await freeTcpPort()), options.modelName ?? 'whisper-1');
    await server.ready();
    return server;
  }

  /** Stops the process and starts it again on the same port (mode resets to `ok`). */
  async restart(): Promise<void> {
    await this.proc.stop(3000);
    this.proc = this.spawn();
    await this.ready();
  }

  private spawn(): PeerProcess {
    return new PeerProcess({
      name: 'stt-server',
      command: sttPython(),
      args: [SERVER_SCRIPT, '--port', String(this.port), '--model-name', this.modelName, '--threads', String(this.options.threads ?? 2)],
      // Offline: never let a library reach for a model hub.
      env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', PYTHONUNBUFFERED: '1' },
    });
  }

  private ready(): Promise<void> {
    return waitUntilReady(this.proc, () => httpOk(`http://127.0.0.1:${this.port}/health`), this.options.readyTimeoutMs ?? 60_000, 'serving');
  }

  /** OpenAI-style base URL, ending in /v1. */
  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  get running(): boolean {
    return this.proc.running;
  }

  output(): string {
    return this.proc.output();
  }

  /** Switches the fault mode; `delayMs` is the delay of mode `slow` (default 3000). */
  async setMode(mode: PeerMode, delayMs?: number): Promise<void> {
    const response = await fetch(`http://127.0.0.1:${this.port}/control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(delayMs === undefined ? { mode } : { mode, delay_ms: delayMs }),
    });
    if (!response.ok) throw new Error(`stt-server control failed: ${response.status} ${await response.text()}`);
  }

  /** Transcribes a WAV (convenience for tests; the product goes through the OpenAI plugin). */
  async transcribe(wav: Uint8Array, language = 'en'): Promise<string> {
    const form = new FormData();
    form.set('file', new Blob([Uint8Array.from(wav)], { type: 'audio/wav' }), 'speech.wav');
    form.set('model', this.modelName);
    form.set('language', language);
    form.set('response_format', 'json');
    const response = await fetch(`${this.baseURL}/audio/transcriptions`, { method: 'POST', body: form });
    if (!response.ok) throw new Error(`stt-server answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { text?: unknown };
    if (typeof body.text !== 'string') throw new Error('stt-server answer has no text');
    return body.text;
  }

  async stop(): Promise<void> {
    await this.proc.stop(3000);
  }
}

export function startSttServer(options?: SttServerOptions): Promise<SttTestServer> {
  return SttTestServer.start(options);
}
