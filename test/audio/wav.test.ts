import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeWav, encodeWav, WAV_HEADER_BYTES, WavFileWriter } from '../../src/audio/wav.js';

const ramp = (n: number) => Int16Array.from({ length: n }, (_, i) => ((i * 37) % 65536) - 32768);

describe('WAV', () => {
  it('round-trips 16-bit mono PCM with its sample rate', () => {
    const samples = ramp(1000);
    const bytes = encodeWav(samples, 22050);
    assert.equal(Buffer.from(bytes.subarray(0, 4)).toString(), 'RIFF');
    assert.equal(bytes.length, WAV_HEADER_BYTES + samples.length * 2);
    const decoded = decodeWav(bytes);
    assert.equal(decoded.sampleRate, 22050);
    assert.equal(decoded.channels, 1);
    assert.deepEqual(decoded.pcm, samples);
  });

  it('writes a header other readers agree with (sizes, byte rate, block align)', () => {
    const bytes = Buffer.from(encodeWav(ramp(300), 48000, 2));
    assert.equal(bytes.toString('ascii', 8, 16), 'WAVEfmt ');
    assert.equal(bytes.readUInt32LE(4), bytes.length - 8);
    assert.equal(bytes.readUInt16LE(20), 1);
    assert.equal(bytes.readUInt16LE(22), 2);
    assert.equal(bytes.readUInt32LE(24), 48000);
    assert.equal(bytes.readUInt32LE(28), 48000 * 2 * 2);
    assert.equal(bytes.readUInt16LE(32), 4);
    assert.equal(bytes.readUInt16LE(34), 16);
    assert.equal(bytes.toString('ascii', 36, 40), 'data');
    assert.equal(bytes.readUInt32LE(40), 600);
  });

  it('skips chunks it does not need and reads a data chunk that claims more than the file holds', () => {
    const pcm = ramp(10);
    const plain = Buffer.from(encodeWav(pcm, 16000));
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc\0')]); // odd size, padded
    const withList = Buffer.concat([plain.subarray(0, 36), list, plain.subarray(36)]);
    assert.deepEqual(decodeWav(withList).pcm, pcm);
    const unpatched = Buffer.from(plain);
    unpatched.writeUInt32LE(0xffffffff, 40);
    assert.deepEqual(decodeWav(unpatched).pcm, pcm);
  });

  it('throws on bytes that are not a 16-bit PCM WAVE file', () => {
    assert.throws(() => decodeWav(new TextEncoder().encode('not a wave file at all')), /not a RIFF\/WAVE/);
    const float = Buffer.from(encodeWav(ramp(4), 16000));
    float.writeUInt16LE(3, 20);
    float.writeUInt16LE(32, 34);
    assert.throws(() => decodeWav(float), /unsupported WAV format 3\/32/);
    assert.throws(() => decodeWav(Buffer.from(encodeWav(ramp(4), 16000)).subarray(0, 36)), /no data chunk/);
  });

  it('streams to a file and patches the header sizes on close', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vo-wav-'));
    try {
      const path = join(dir, 'out.wav');
      const writer = new WavFileWriter(path, 48000);
      const a = ramp(960);
      const b = ramp(500).map((v) => -v);
      writer.write(a);
      writer.write(Buffer.from(encodeWav(b, 48000).subarray(WAV_HEADER_BYTES))); // s16le bytes off the wire
      assert.equal(readFileSync(path).readUInt32LE(40), 0, 'sizes are written on close');
      assert.equal(writer.seconds, (960 + 500) / 48000);
      writer.close();
      writer.close();
      writer.write(a); // after close: ignored
      const bytes = readFileSync(path);
      assert.equal(bytes.readUInt32LE(40), (960 + 500) * 2);
      assert.equal(bytes.readUInt32LE(4), bytes.length - 8);
      const decoded = decodeWav(bytes);
      assert.equal(decoded.sampleRate, 48000);
      assert.deepEqual(decoded.pcm, Int16Array.from([...a, ...b]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
