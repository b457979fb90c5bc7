/** Small helpers for mono/interleaved signed 16-bit PCM. */
import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';

/** Clamps a (rounded) sample value to the int16 range. */
export function clampInt16(v: number): number {
  return v > 32767 ? 32767 : Math.max(v, -32768);
}

/** One array holding the parts one after another. */
export function concatInt16(parts: readonly Int16Array[]): Int16Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Int16Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Root mean square of the samples (0 for none). */
export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/** Index of the first sample whose magnitude exceeds `level`, or -1 when none does. */
export function firstAbove(samples: Int16Array, level: number): number {
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (s > level || s < -level) return i;
  }
  return -1;
}

/** The samples as s16le bytes: a view of the same memory on little-endian machines, a copy otherwise. */
export function int16ToLeBytes(samples: Int16Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = Buffer.allocUnsafe(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i] ?? 0, i * 2);
  return out;
}
