import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeEvent, EventReader, FramingError } from '../../src/wyoming/framing.js';
import { takeSentences } from '../../src/wyoming/text.js';

const limits = { maxHeaderBytes: 4096, maxDataBytes: 4096, maxPayloadBytes: 4096 };

test('events read back the same however the byte stream is cut', () => {
  const stream = Buffer.concat([
    encodeEvent('describe'),
    encodeEvent('synthesize', { text: 'Hello, wörld. ✓', voice: { name: 'en_US-joe-medium' } }),
    encodeEvent('audio-chunk', { rate: 22050, width: 2, channels: 1 }, new Uint8Array([1, 2, 3, 4])),
  ]);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
      const reader = new EventReader(limits);
      const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), stream.length];
      const events = points.slice(1).flatMap((end, i) => reader.push(stream.subarray(points[i], end)));
      assert.deepEqual(
        events.map((e) => e.type),
        ['describe', 'synthesize', 'audio-chunk'],
      );
      assert.equal(events[1]?.data['text'], 'Hello, wörld. ✓');
      assert.deepEqual([...(events[2]?.payload ?? [])], [1, 2, 3, 4]);
    }),
  );
});

test('data inline in the header (older clients) is merged under the data that follows', () => {
  const reader = new EventReader(limits);
  const data = Buffer.from(JSON.stringify({ text: 'from data' }));
  const events = reader.push(Buffer.concat([Buffer.from(`{"type":"synthesize","data":{"text":"inline","x":1},"data_length":${data.length}}\n`), data]));
  assert.deepEqual(events[0]?.data, { text: 'from data', x: 1 });
});

test('limits and malformed headers throw a FramingError with its code', () => {
  const cases: Array<[string, string]> = [
    ['{"type":"x","data_length":99999}\n', 'data_too_large'],
    ['{"type":"x","payload_length":99999}\n', 'payload_too_large'],
    ['{"type":"x","payload_length":1.5}\n', 'malformed_event'],
    ['{"type":7}\n', 'malformed_event'],
    ['"describe"\n', 'malformed_event'],
    ['x'.repeat(5000), 'header_too_large'],
  ];
  for (const [input, code] of cases) {
    assert.throws(
      () => new EventReader(limits).push(Buffer.from(input)),
      (err: unknown) => err instanceof FramingError && err.code === code,
      input.slice(0, 40),
    );
  }
});

test('streamed text is cut after whole sentences only', () => {
  assert.deepEqual(takeSentences('Hello there. How are'), { complete: 'Hello there. ', rest: 'How are' });
  assert.deepEqual(takeSentences('No end yet'), { complete: '', rest: 'No end yet' });
  assert.deepEqual(takeSentences('Really?! "Yes." And'), { complete: 'Really?! "Yes." ', rest: 'And' });
  assert.deepEqual(takeSentences('Version 1.5 is out'), { complete: '', rest: 'Version 1.5 is out' });
  assert.deepEqual(takeSentences('A list\nnext'), { complete: 'A list\n', rest: 'next' });
});
