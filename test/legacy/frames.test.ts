import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UtteranceFramer } from '../../src/legacy/frames.js';

function tone(samples: number, rate: number): Int16Array {
  const pcm = new Int16Array(samples);
  for (let i = 0; i < samples; i++) pcm[i] = Math.round(10000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return pcm;
}

test('22.05 kHz sentences become whole 1 920-byte frames covering the same duration', () => {
  const framer = new UtteranceFramer(22050);
  const frames = [...framer.push(tone(22050, 22050)), ...framer.push(tone(11025, 22050)), ...framer.flush()];
  for (const frame of frames) assert.equal(frame.length, 1920);
  // 1.5 s of input = 75 frames of 20 ms (the padded last frame rounds up)
  assert.equal(frames.length, 75);
});

test('the last partial frame is padded with silence', () => {
  const framer = new UtteranceFramer(48000);
  const frames = [...framer.push(tone(1000, 48000)), ...framer.flush()];
  assert.equal(frames.length, 2);
  const last = frames[1] as Buffer;
  assert.equal(last.length, 1920);
  assert.equal(last.readInt16LE((1000 - 960) * 2 + 2), 0);
  assert.notEqual(last.readInt16LE(2), 0);
});

test('chunking does not change the frames', () => {
  const input = tone(9000, 22050);
  const whole = new UtteranceFramer(22050);
  const a = Buffer.concat([...whole.push(input), ...whole.flush()]);
  const chunked = new UtteranceFramer(22050);
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += 777) parts.push(...chunked.push(input.subarray(i, i + 777)));
  parts.push(...chunked.flush());
  assert.deepEqual(Buffer.concat(parts), a);
});
