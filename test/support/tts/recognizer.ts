import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav } from '../../../src/audio/index.js';

/** Transcribes 16 kHz mono speech with Debian's pocketsphinx_continuous (spawned per utterance). */
export async function transcribe(pcm16k: Int16Array): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vo-asr-'));
  const file = join(dir, 'utterance.wav');
  try {
    // a little silence around the utterance, as a microphone recording would have
    const padded = new Int16Array(pcm16k.length + 2 * 4800);
    padded.set(pcm16k, 4800);
    await writeFile(file, encodeWav(padded, 16000));
    return await new Promise<string>((resolve, reject) => {
      const child = spawn('pocketsphinx_continuous', ['-infile', file, '-logfn', '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', (e) =>
        reject(new Error(`cannot run pocketsphinx_continuous (install Debian packages pocketsphinx and pocketsphinx-en-us): ${e.message}`)),
      );
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(out.trim());
        else reject(new Error(`pocketsphinx_continuous exited with ${code}: ${err.slice(0, 500)}`));
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const CONTRACTIONS: Record<string, string> = {
  "we're": 'we are',
  "you're": 'you are',
  "they're": 'they are',
  "it's": 'it is',
  "i'm": 'i am',
  "that's": 'that is',
  "what's": 'what is',
  "he's": 'he is',
  "she's": 'she is',
  "don't": 'do not',
  "can't": 'can not',
  "i'll": 'i will',
};

/** Lower-case words without punctuation, contractions spelled out (a recognizer may write either). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/\u2019/g, "'")
    .replace(/[^a-z' ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((w) => (CONTRACTIONS[w] ?? w).split(' '));
}

/** Word-level edit distance between a reference and a hypothesis. */
export function wordErrors(reference: string[], hypothesis: string[]): number {
  let prev = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const sub = prev[j - 1]! + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1));
    }
    prev = cur;
  }
  return prev[hypothesis.length]!;
}
