/** Shared set-up of the legacy end-to-end tests against the real service process (test/legacy/*.e2e.test.ts). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach } from 'node:test';
import WebSocket from 'ws';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { LegacyClient } from '../../src/legacy/client.js';
import type { ServerProcess } from './legacy.js';

/** Three sentences of speech. */
export const PARAGRAPH =
  'The quick brown fox jumps over the lazy dog near the river bank. ' +
  'A second sentence follows, long enough to keep the voice busy for a while. ' +
  'Then a third one arrives, and it also has quite a few words in it.';

/**
 * Returns `open`, which connects a client that is closed after the test whatever happened, so one
 * failure does not leak into the next test.
 */
export function closeClientsAfterEach(): (url: string, options?: Parameters<typeof LegacyClient.connect>[1]) => Promise<LegacyClient> {
  const openClients = new Set<LegacyClient>();
  afterEach(() => {
    for (const client of openClients) client.terminate();
    openClients.clear();
  });
  return async (url, options) => {
    const client = await LegacyClient.connect(url, options);
    openClients.add(client);
    return client;
  };
}

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function legacyStatus(
  server: ServerProcess,
): Promise<Record<string, unknown> & { active_sessions: number; errors_by_code: Record<string, number> }> {
  const { body } = await getJson(`${server.healthUrl}/status`);
  const components = body['components'] as Array<Record<string, unknown>>;
  const legacy = components.find((c) => c['name'] === 'legacy');
  assert.ok(legacy, 'no legacy component in /status');
  return legacy as never;
}

/** A client written only from the documented protocol: plain `ws`, JSON in, JSON out. */
export function documentedExchange(
  url: string,
  texts: string[],
): Promise<{ sessionId: string; perText: Array<{ frames: number; sequences: number[]; end: Record<string, unknown> }>; types: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const types: string[] = [];
    const perText: Array<{ frames: number; sequences: number[]; end: Record<string, unknown> }> = [];
    let sessionId = '';
    let sequences: number[] = [];
    let index = 0;
    const timer = setTimeout(() => reject(new Error('documented exchange timed out')), 60_000);
    ws.on('error', reject);
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      types.push(String(message['type']));
      if (message['type'] === 'session_start') {
        sessionId = String(message['session_id']);
        ws.send(JSON.stringify({ type: 'text', text: texts[index], is_final: true }));
      } else if (message['type'] === 'audio') {
        assert.equal(message['sample_rate'], 48000);
        assert.equal(message['frame_ms'], 20);
        assert.equal(Buffer.from(String(message['pcm']), 'base64').length, 1920);
        sequences.push(Number(message['sequence']));
      } else if (message['type'] === 'session_end') {
        perText.push({ frames: sequences.length, sequences, end: message });
        sequences = [];
        index++;
        if (index < texts.length) ws.send(JSON.stringify({ type: 'text', text: texts[index] }));
        else {
          clearTimeout(timer);
          ws.close();
          resolve({ sessionId, perText, types });
        }
      }
    });
  });
}

export function runCli(args: string[], stdin: string | undefined, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: '', HOME: process.env['HOME'] },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cli timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin.end(stdin);
  });
}

export function wavSeconds(path: string): { seconds: number; sampleRate: number; channels: number } {
  const bytes = readFileSync(path);
  assert.equal(bytes.toString('ascii', 0, 4), 'RIFF');
  assert.equal(bytes.toString('ascii', 8, 12), 'WAVE');
  const channels = bytes.readUInt16LE(22);
  const sampleRate = bytes.readUInt32LE(24);
  const dataBytes = bytes.readUInt32LE(40);
  assert.equal(dataBytes, bytes.length - 44);
  return { seconds: dataBytes / 2 / channels / sampleRate, sampleRate, channels };
}
