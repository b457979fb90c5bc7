/** Test harness: the speech server of legacy mode in this process (legacy + OpenAI on one port, Wyoming on another), real engine. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { concatInt16, decodeWav, Resampler } from '../../src/audio/index.js';
import { type Config, VARIABLES, type VarName } from '../../src/config/schema.js';
import { createLegacyComponent } from '../../src/legacy/index.js';
import { createLogger } from '../../src/ops/logger.js';
import { SpeechService } from '../../src/speech/service.js';
import type { SpeechSynthesizer } from '../../src/tts/types.js';
import { createWyomingComponent } from '../../src/wyoming/index.js';
import { PeerMissingError, peerCacheDir } from './cache.js';
import { transcribe } from './tts/recognizer.js';
import { TEST_VOICE, testVoicesDir } from './voices.js';
import { wordAccuracy } from './word-accuracy.js';

export interface RunningSpeechServer {
  /** http://127.0.0.1:PORT (the OpenAI base URL is this + /v1). */
  httpUrl: string;
  wyomingPort: number;
  registry: Registry;
  speech: SpeechService;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Every variable at its schema default, `overrides` given as env strings; ports ephemeral on loopback. */
export function speechConfig(overrides: Partial<Record<VarName, string>> = {}): Config {
  const raw: Partial<Record<VarName, string>> = { LEGACY_PORT: '0', WYOMING_PORT: '0', VOICES_DIR: testVoicesDir(), TTS_VOICE: TEST_VOICE, ...overrides };
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(VARIABLES) as VarName[]) {
    const spec = VARIABLES[name] as { schema: { parse(v: unknown): unknown }; default?: string };
    values[name] = spec.schema.parse(raw[name] ?? spec.default);
  }
  return Object.freeze(values) as Config;
}

/** Starts the legacy component (legacy WebSocket + OpenAI API) and the Wyoming component around one speech service. */
export async function startSpeechServer(tts: SpeechSynthesizer, overrides: Partial<Record<VarName, string>> = {}): Promise<RunningSpeechServer> {
  const config = speechConfig(overrides);
  const registry = new Registry();
  registry.setDefaultLabels({ mode: 'legacy' });
  const logger = createLogger({ LOG_LEVEL: process.env['TEST_LOG_LEVEL'] === 'debug' ? 'debug' : 'silent', LOG_FORMAT: 'json' } as Config);
  const speech = new SpeechService({ tts, registry, voicesDir: config.VOICES_DIR, defaultVoice: config.TTS_VOICE, maxTextChars: config.LEGACY_MAX_TEXT_CHARS });
  const legacy = createLegacyComponent({ config, logger, metrics: registry, tts, speech });
  const wyoming = createWyomingComponent({ config, logger, speech });
  await legacy.start();
  await wyoming.start();
  let stopped = false;
  return {
    httpUrl: `http://127.0.0.1:${legacy.address()?.port}`,
    wyomingPort: wyoming.address()?.port ?? 0,
    registry,
    speech,
    metrics: () => registry.metrics(),
    async stop() {
      if (stopped) return;
      stopped = true;
      const deadline = Date.now() + 2000;
      await Promise.all([wyoming.stop(deadline), legacy.stop(deadline)]);
    },
  };
}

/** What pocketsphinx hears in mono 16-bit speech at any rate, and its word accuracy against `reference`. */
export async function heard(pcm: Int16Array, sampleRate: number, reference: string): Promise<{ text: string; accuracy: number }> {
  const text = await transcribe(Resampler.oneShot(pcm, sampleRate, 16000));
  return { text, accuracy: wordAccuracy(reference, text) };
}

/** s16le bytes as samples. */
export function samplesOf(bytes: Uint8Array): Int16Array {
  const copy = new Uint8Array(bytes.length - (bytes.length % 2));
  copy.set(bytes.subarray(0, copy.length));
  return new Int16Array(copy.buffer);
}

export { concatInt16, decodeWav };

/** The venv python of scripts/setup/wyoming.sh; fails loudly when it is not installed. */
export function wyomingPython(): string {
  const python = join(peerCacheDir(), 'venv-wyoming', 'bin', 'python');
  if (!existsSync(python)) throw new PeerMissingError('the wyoming Python package', 'wyoming', 'no venv-wyoming');
  return python;
}

export interface WyomingPeerResult {
  types?: string[];
  tts?: Array<{ name: string; supports_synthesize_streaming: boolean; voices: Array<{ name: string; languages: string[] }> }>;
  format?: { rate: number; width: number; channels: number };
  audio_seconds?: number;
  first_audio_s?: number | null;
  total_s?: number;
  error?: string;
  code?: string;
  /** The WAV the peer wrote, decoded. */
  audio?: { pcm: Int16Array; sampleRate: number; channels: number };
}

/** Runs scripts/peers/wyoming_client.py (the wyoming package's client) against the server. */
export async function wyomingPeer(port: number, args: string[]): Promise<{ code: number; result: WyomingPeerResult; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'vo-wyoming-'));
  const out = join(dir, 'out.wav');
  const [command, ...rest] = args;
  const full = [
    'scripts/peers/wyoming_client.py',
    '--uri',
    `tcp://127.0.0.1:${port}`,
    command ?? 'describe',
    ...(command === 'describe' ? [] : ['--out', out]),
    ...rest,
  ];
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(wyomingPython(), full, { timeout: 180_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    const result = JSON.parse(stdout.trim().split('\n').pop() || '{}') as WyomingPeerResult;
    if (existsSync(out)) result.audio = decodeWav(new Uint8Array(await readFile(out)));
    return { code, result, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
