/**
 * Test support for test/containers/: podman with this project's containers.conf (runc, host networking by
 * default, explicit ulimits: ../../scripts/containers/containers.conf), the images built once per run by
 * scripts/containers/build.sh (cached), and containers that are always removed.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatInt16, encodeWav, Resampler } from '../../src/audio/index.js';
import { peerCacheDir } from '../support/cache.js';
import { speak } from '../support/speech.js';
import { RATE, type TestParticipant, waitFor } from '../support/test-participant.js';
import { transcribe } from '../support/tts/recognizer.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CONTAINERS_CONF = join(ROOT, 'scripts', 'containers', 'containers.conf');
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const IMAGE = `localhost/voice-orchestrator:${VERSION}`;
export const LIVEKIT_IMAGE = 'docker.io/livekit/livekit-server:v1.13.5';

const env = () => ({ ...process.env, CONTAINERS_CONF });

export function podman(args: string[], timeoutMs = 120_000): SpawnSyncReturns<string> {
  return spawnSync('podman', args, { encoding: 'utf8', timeout: timeoutMs, env: env() });
}

/** podman, asserting success; returns stdout trimmed. */
export function podmanOk(args: string[], timeoutMs?: number): string {
  const result = podman(args, timeoutMs);
  assert.equal(result.error, undefined, `podman ${args[0]}: ${result.error?.message} (run: bash scripts/containers/setup.sh)`);
  assert.equal(result.status, 0, `podman ${args.join(' ')}\n${result.stderr}`);
  return result.stdout.trim();
}

/** podman asynchronously (does not block the event loop: LiveKit participants keep running meanwhile). */
export function podmanAsync(args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('podman', args, { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

let built = false;
/**
 * Tools, base images and the service image: scripts/containers/build.sh (seconds when nothing changed).
 * `npm run test:containers` builds once before all files and says so with VO_CONTAINER_IMAGES_BUILT=1.
 */
export function ensureImages(): void {
  if (built || process.env['VO_CONTAINER_IMAGES_BUILT'] === '1') return;
  for (const script of ['setup.sh', 'build.sh']) {
    const result = spawnSync('bash', [join(ROOT, 'scripts', 'containers', script)], { encoding: 'utf8', timeout: 40 * 60_000, env: env() });
    assert.equal(result.status, 0, `scripts/containers/${script} failed:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`);
    process.stdout.write(result.stdout);
  }
  built = true;
}

/** podman-compose from the venv scripts/containers/setup.sh makes. */
export function podmanComposeBin(): string {
  const bin = join(peerCacheDir(), 'venv-podman-compose', 'bin', 'podman-compose');
  assert.ok(existsSync(bin), 'podman-compose is not installed: run bash scripts/containers/setup.sh');
  return bin;
}

/** The hardening every container of these tests runs with (as docker-compose.yml and deploy/k8s ask). */
export const HARDENED = [
  '--read-only',
  '--tmpfs',
  '/tmp:rw,size=64m,mode=1777',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
  '--pids-limit',
  '512',
];

/** A detached container (host network) that is removed by `remove()`; its name is unique per test process. */
export class Container {
  readonly name: string;
  constructor(role: string) {
    this.name = `vo-test-${role}-${process.pid}`;
  }

  start(image: string, options: string[], args: string[] = []): void {
    podman(['rm', '-f', this.name]);
    podmanOk(['run', '-d', '--name', this.name, '--network', 'host', ...options, image, ...args]);
  }

  inspect(format: string): string {
    return podmanOk(['inspect', '--format', format, this.name]);
  }

  running(): boolean {
    return podman(['inspect', '--format', '{{.State.Running}}', this.name]).stdout.trim() === 'true';
  }

  logs(): string {
    const result = podman(['logs', '--tail', '80', this.name]);
    return `${result.stdout}${result.stderr}`;
  }

  exec(command: string[]): SpawnSyncReturns<string> {
    return podman(['exec', this.name, ...command]);
  }

  /** `podman stop -t grace`: SIGTERM, then SIGKILL after the grace period. Resolves with how long it took. */
  async stop(graceSeconds: number): Promise<{ ms: number; exitCode: number }> {
    const result = await podmanAsync(['stop', '-t', String(graceSeconds), this.name], (graceSeconds + 30) * 1000);
    assert.equal(result.code, 0, result.stderr);
    return { ms: result.ms, exitCode: Number(this.inspect('{{.State.ExitCode}}')) };
  }

  /** Removes the container (kept for a look when VO_TEST_KEEP_CONTAINERS=1). */
  remove(): void {
    if (process.env['VO_TEST_KEEP_CONTAINERS'] === '1') return;
    podman(['rm', '-f', '-v', '-t', '0', this.name]);
  }
}

/** Polls `url` until it answers 200, failing with the container's log if it stops or the deadline passes. */
export async function waitReady(url: string, container: Container | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
      last = `${response.status} ${await response.text()}`;
      if (response.status === 200) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (container && !container.running()) assert.fail(`${container.name} exited before ${url} was ready:\n${container.logs()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.fail(`${url} not ready after ${timeoutMs} ms (last: ${last})${container ? `\n${container.logs()}` : ''}`);
}

/** Flite speech for `text` at the participant's 48 kHz. */
export async function speech48k(text: string): Promise<Int16Array> {
  const spoken = await speak(text, { sampleRate: 16_000 });
  return Resampler.oneShot(spoken.pcm, spoken.sampleRate, RATE);
}

/** Transcribes 16 kHz mono PCM. */
export type Recognizer = (pcm16k: Int16Array) => Promise<string>;

/**
 * What a recognizer (default: the offline pocketsphinx of the TTS tests) hears in the PCM; the audio is kept
 * as test-artifacts/containers-NAME.wav.
 */
export function hear(parts: Int16Array[], sampleRate: number, name: string, recognize: Recognizer = transcribe): Promise<string> {
  const pcm = Resampler.oneShot(concatInt16(parts), sampleRate, 16_000);
  mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
  writeFileSync(join(ROOT, 'test-artifacts', `containers-${name}.wav`), encodeWav(pcm, 16_000, 1));
  return recognize(pcm);
}

const TURN_MS = 90_000;
/** The service's default greeting (AGENT_GREETING). */
export const GREETING = 'Hello! How can I help you today?';

/**
 * Waits for the agent to join a room, greet and go back to listening; returns the greeting's transcript.
 * (Its audio is not checked: the greeting starts as the agent joins, before the participant has subscribed
 * to its track, so its first words may not be recorded.)
 */
export async function greeted(participant: TestParticipant, joinedAt: number): Promise<string> {
  await participant.waitForAgent(TURN_MS);
  const greeting = await participant.transcriptAfter('agent', joinedAt, TURN_MS);
  await waitFor(
    () => {
      const spoke = participant.agentStates.some((s) => s.state === 'speaking' && s.at > joinedAt);
      return spoke && participant.agentStates.at(-1)?.state === 'listening' ? true : undefined;
    },
    TURN_MS,
    'the agent to finish its greeting and listen',
  );
  return greeting.text;
}

/** Asks `question` aloud; resolves with the agent's transcript of the user, its answer and what the recognizer heard. */
export async function ask(
  participant: TestParticipant,
  question: string,
  name: string,
  recognize: Recognizer,
): Promise<{ user: string; answer: string; heard: string }> {
  const { endedAt } = await participant.say(await speech48k(question));
  const user = await participant.transcriptAfter('user', endedAt - 5000, TURN_MS);
  const firstSound = await participant.firstSoundAfter(endedAt, TURN_MS);
  const answer = await participant.transcriptAfter('agent', endedAt, TURN_MS);
  const end = await participant.soundEnd(firstSound, 1500, TURN_MS);
  const heard = await hear([participant.audioBetween(firstSound - 20, end + 20)], RATE, `${name}-answer`, recognize);
  return { user: user.text, answer: answer.text, heard };
}
