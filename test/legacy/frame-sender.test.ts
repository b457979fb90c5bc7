/**
 * The frame sender's backpressure rules, on a socket whose unsent byte count the test sets: a
 * loopback TCP socket cannot be made to hold a chosen amount (the kernel buffers megabytes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameSender, type SessionSocket } from '../../src/legacy/frame-sender.js';

class HeldSocket implements SessionSocket {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Array<string | Buffer> = [];
  send(data: string | Buffer): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  terminate(): void {
    this.readyState = 3;
  }
}

function sender(socket: HeldSocket, slowConsumerMs = 300) {
  const cutOff: number[] = [];
  const frames = new FrameSender({
    socket,
    pacing: 'none',
    highWaterBytes: 1000,
    hardLimitBytes: 100_000,
    slowConsumerMs,
    onSlowConsumer: (buffered) => cutOff.push(buffered),
    onFrame: () => undefined,
  });
  return { frames, cutOff };
}

const frame = () => Buffer.alloc(1920);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('frames wait while the buffer is above the high-water mark and flow again once the client reads', async () => {
  const socket = new HeldSocket();
  const { frames, cutOff } = sender(socket, 5000);
  socket.bufferedAmount = 5000;
  const done = frames.sendFrames([frame(), frame(), frame()], new AbortController().signal);
  await sleep(100);
  assert.equal(socket.sent.length, 0, 'a frame left while the buffer was full');
  socket.bufferedAmount = 0;
  assert.equal(await done, true);
  assert.equal(socket.sent.length, 3);
  assert.deepEqual(
    socket.sent.map((m) => JSON.parse(String(m)).sequence),
    [1, 2, 3],
  );
  assert.deepEqual(cutOff, []);
});

test('a client whose buffer does not shrink for slowConsumerMs is cut off; control replies still go out before', async () => {
  const socket = new HeldSocket();
  const { frames, cutOff } = sender(socket, 300);
  socket.bufferedAmount = 5000;
  frames.sendJson({ type: 'control_ack' });
  assert.equal(socket.sent.length, 1, 'a control reply waited behind backpressure');
  const started = performance.now();
  assert.equal(await frames.sendFrames([frame()], new AbortController().signal), false);
  assert.ok(performance.now() - started >= 290);
  assert.deepEqual(cutOff, [5000]);
});

test('a client that reads slowly but steadily is never cut off, however long it stays above the mark', async () => {
  const socket = new HeldSocket();
  const { frames, cutOff } = sender(socket, 200);
  // above the mark for about a second, five times the limit, shrinking all along
  socket.bufferedAmount = 11_000;
  const reader = setInterval(() => (socket.bufferedAmount = Math.max(0, socket.bufferedAmount - 500)), 50);
  try {
    const ok = await frames.sendFrames([frame()], new AbortController().signal);
    assert.equal(ok, true);
  } finally {
    clearInterval(reader);
  }
  assert.deepEqual(cutOff, []);
});

test('abort releases a sender held by backpressure or pause at once', async () => {
  const socket = new HeldSocket();
  const { frames } = sender(socket, 60_000);
  socket.bufferedAmount = 5000;
  const abort = new AbortController();
  const held = frames.sendFrames([frame()], abort.signal);
  await sleep(30);
  abort.abort();
  assert.equal(await held, false);
  socket.bufferedAmount = 0;
  frames.pause();
  const paused = new AbortController();
  const waiting = frames.sendFrames([frame()], paused.signal);
  await sleep(30);
  assert.equal(socket.sent.length, 0);
  frames.resume();
  assert.equal(await waiting, true);
  assert.equal(JSON.parse(String(socket.sent[0])).sequence, 1);
});

test('over the hard cap nothing more is sent and the client is cut off', () => {
  const socket = new HeldSocket();
  const { frames, cutOff } = sender(socket);
  socket.bufferedAmount = 200_000;
  frames.sendJson({ type: 'pong' });
  assert.equal(socket.sent.length, 0);
  assert.deepEqual(cutOff, [200_000]);
});
