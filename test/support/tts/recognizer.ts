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
