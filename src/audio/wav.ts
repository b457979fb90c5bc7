/**
 * 16-bit PCM RIFF/WAVE files: whole-file encoding and decoding, and a streaming file writer that
 * patches the header's sizes when it is closed.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { int16ToLeBytes } from './pcm.js';

export interface PcmAudio {
  /** Interleaved signed 16-bit samples. */
  pcm: Int16Array;
  sampleRate: number;
  channels: number;
}

/** Bytes before the samples in the files we write (RIFF header, 16-byte `fmt ` chunk, `data` header). */
export const WAV_HEADER_BYTES = 44;

/** The 44-byte header of a 16-bit PCM WAV file whose `data` chunk holds `dataBytes` bytes. */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Uint8Array {
  const header = new Uint8Array(WAV_HEADER_BYTES);
  const view = new DataView(header.buffer);
  const tag = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) header[at + i] = s.charCodeAt(i);
  };
  tag(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  tag(8, 'WAVE');
  tag(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true); // byte rate
  view.setUint16(32, channels * 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  tag(36, 'data');
  view.setUint32(40, dataBytes, true);
  return header;
}

/** Encodes 16-bit PCM as a WAV file. */
export function encodeWav(pcm: Int16Array, sampleRate: number, channels = 1): Uint8Array {
  const out = new Uint8Array(WAV_HEADER_BYTES + pcm.length * 2);
  out.set(wavHeader(sampleRate, channels, pcm.length * 2));
  out.set(int16ToLeBytes(pcm), WAV_HEADER_BYTES);
  return out;
}

/**
 * Decodes a 16-bit PCM WAV file. Scans the chunks, so extra ones (LIST, fact...) are fine; a `data`
 * chunk that claims more bytes than the file has is read to the end of the file. Throws on anything else.
 */
export function decodeWav(bytes: Uint8Array): PcmAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let format: { code: number; channels: number; sampleRate: number; bits: number } | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (body + 16 > bytes.length) throw new Error('WAV fmt chunk is cut short');
      format = {
        code: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data chunk before fmt chunk');
      if (format.code !== 1 || format.bits !== 16) throw new Error(`unsupported WAV format ${format.code}/${format.bits} bit (16-bit PCM only)`);
      const samples = Math.floor((Math.min(bytes.length, body + size) - body) / 2);
      const pcm = new Int16Array(samples);
      for (let i = 0; i < samples; i++) pcm[i] = view.getInt16(body + 2 * i, true);
      return { pcm, sampleRate: format.sampleRate, channels: format.channels };
    }
    at = body + size + (size % 2);
  }
  throw new Error('WAV has no data chunk');
}

/**
 * Writes 16-bit PCM to a WAV file as it arrives; the header's sizes are patched on close, so a
 * long recording never holds its audio in memory.
 */
export class WavFileWriter {
  private readonly fd: number;
  private dataBytes = 0;
  private closed = false;

  constructor(
    readonly path: string,
    readonly sampleRate: number,
    readonly channels = 1,
  ) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, wavHeader(sampleRate, channels, 0));
  }

  /** Appends samples, or bytes that are already s16le (as they come off the wire). Ignored after close. */
  write(pcm: Int16Array | Uint8Array): void {
    if (this.closed) return;
    const bytes = pcm instanceof Int16Array ? int16ToLeBytes(pcm) : pcm;
    writeSync(this.fd, bytes);
    this.dataBytes += bytes.length;
  }

  /** Duration written so far. */
  get seconds(): number {
    return this.dataBytes / 2 / this.channels / this.sampleRate;
  }

  /** Patches the header's sizes and closes the file; later calls do nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      writeSync(this.fd, wavHeader(this.sampleRate, this.channels, this.dataBytes), 0, WAV_HEADER_BYTES, 0);
    } finally {
      closeSync(this.fd);
    }
  }
}
