import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeWav, encodeWav, Framer } from '../../src/audio/index.js';

const run = promisify(execFile);

/** flite's 16 kHz voices (`kal` is 8 kHz and not offered). */
export type FliteVoice = 'slt' | 'rms' | 'awb' | 'kal16';

export interface SpeechOptions {
  /** Output rate; 16000 is flite's own, anything else is resampled with sox. Default 16000. */
  sampleRate?: number;
  voice?: FliteVoice;
  /** Silence added before and after the words, in ms (lets a VAD see the start and the end). Default 0. */
  padMs?: number;
}

export interface Speech {
  text: string;
  /** Mono 16-bit samples. */
  pcm: Int16Array;
  sampleRate: number;
  durationMs: number;
}

async function tool(name: string, args: string[]): Promise<void> {
  try {
    await run(name, args, { timeout: 30_000 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${name} is not installed: run \`bash scripts/setup/apt.sh\` (Debian packages flite and sox)`);
    throw new Error(`${name} failed: ${(error as Error).message}`);
  }
}

/** Real synthetic speech for tests: Debian `flite` speaks `text`, mono Int16 PCM at the rate asked for. */
export async function speak(text: string, options: SpeechOptions = {}): Promise<Speech> {
  const sampleRate = options.sampleRate ?? 16_000;
  const dir = await mkdtemp(join(tmpdir(), 'vo-speech-'));
  try {
    const raw = join(dir, 'flite.wav');
    // -t takes the text as one argument (no shell); a leading '-' would be read as an option.
    await tool('flite', ['-voice', options.voice ?? 'slt', '-t', text.replace(/^-+/, ''), '-o', raw]);
    let file = raw;
    if (sampleRate !== 16_000) {
      file = join(dir, 'resampled.wav');
      await tool('sox', [raw, '-r', String(sampleRate), '-b', '16', '-c', '1', file]);
    }
    const audio = decodeWav(new Uint8Array(await readFile(file)));
    if (audio.channels !== 1) throw new Error(`flite produced ${audio.channels} channels`);
    const pcm = padWithSilence(audio.pcm, audio.sampleRate, options.padMs ?? 0);
    return { text, pcm, sampleRate: audio.sampleRate, durationMs: (pcm.length / audio.sampleRate) * 1000 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function padWithSilence(pcm: Int16Array, sampleRate: number, padMs: number): Int16Array {
  const pad = Math.round((sampleRate * padMs) / 1000);
  if (pad === 0) return pcm;
  const out = new Int16Array(pcm.length + 2 * pad);
  out.set(pcm, pad);
  return out;
}

/** The speech as a WAV file (for an STT request or a browser's fake microphone). */
export function speechToWav(speech: Speech): Uint8Array {
  return encodeWav(speech.pcm, speech.sampleRate, 1);
}

/** Splits mono PCM into frames of `frameMs` (the last one zero-padded), e.g. for AudioSource.captureFrame. */
export function pcmFrames(pcm: Int16Array, sampleRate: number, frameMs = 10): Int16Array[] {
  const framer = new Framer(sampleRate, frameMs, { round: true });
  const frames = framer.push(pcm);
  const last = framer.flush(true);
  if (last) frames.push(last);
  return frames;
}
