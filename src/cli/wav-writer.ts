import { openSync, writeSync, closeSync } from 'node:fs';

/**
 * Writes mono s16le PCM to a WAV file as it arrives; the header's sizes are patched on close,
 * so a long session never holds its audio in memory.
 */
export class WavWriter {
  private readonly fd: number;
  private dataBytes = 0;
  private closed = false;

  constructor(
    readonly path: string,
    readonly sampleRate: number,
  ) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, wavHeader(sampleRate, 0));
  }

  write(pcm: Buffer): void {
    if (this.closed) return;
    writeSync(this.fd, pcm);
    this.dataBytes += pcm.length;
  }

  get seconds(): number {
    return this.dataBytes / 2 / this.sampleRate;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    writeSync(this.fd, wavHeader(this.sampleRate, this.dataBytes), 0, 44, 0);
    closeSync(this.fd);
  }
}

export function wavHeader(sampleRate: number, dataBytes: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // PCM chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}
