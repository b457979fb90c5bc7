import assert from 'node:assert/strict';
import { test } from 'node:test';
import { audioMessage, FRAME_BYTES, parseClientMessage } from '../../src/legacy/protocol.js';

test('a documented text message parses and is_final defaults to true', () => {
  const result = parseClientMessage('{"type":"text","text":"Hello."}');
  assert.deepEqual(result, { ok: true, message: { type: 'text', text: 'Hello.', is_final: true } });
});

test('documented control commands parse', () => {
  for (const command of ['PAUSE', 'RESUME', 'STOP']) {
    const result = parseClientMessage(JSON.stringify({ type: 'control', command }));
    assert.equal(result.ok, true, command);
  }
});

test('extension messages parse: configure, ping, stats, per-text voice and speed', () => {
  assert.equal(parseClientMessage('{"type":"configure","utterance_events":true,"binary_audio":true,"voice":"en_US-joe-medium","speed":1.5}').ok, true);
  assert.equal(parseClientMessage('{"type":"ping","id":3}').ok, true);
  assert.equal(parseClientMessage('{"type":"stats"}').ok, true);
  assert.equal(parseClientMessage('{"type":"text","text":"x","utterance_id":"u1","voice":"v","speed":2}').ok, true);
});

test('malformed messages are rejected with a reason that names the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /not valid JSON/],
    ['[1,2]', /JSON object/],
    ['"text"', /JSON object/],
    ['null', /JSON object/],
    ['{"text":"no type"}', /no string "type"/],
    ['{"type":"dance"}', /unknown message type "dance"/],
    ['{"type":"text","text":""}', /"text"/],
    ['{"type":"text","text":5}', /"text"/],
    ['{"type":"text","text":"a","is_final":"yes"}', /"is_final"/],
    ['{"type":"control","command":"pause"}', /"command"/],
    ['{"type":"control"}', /"command"/],
    ['{"type":"configure","speed":100}', /"speed"/],
    ['{"type":"configure","voice":"../../etc/passwd"}', /"voice"/],
    ['{"type":"text","text":"a","utterance_id":""}', /"utterance_id"/],
  ];
  for (const [raw, reason] of cases) {
    const result = parseClientMessage(raw);
    assert.equal(result.ok, false, raw);
    if (!result.ok) assert.match(result.reason, reason, raw);
  }
});

test('an audio message carries one 20 ms frame at 48 kHz with the documented fields', () => {
  const pcm = Buffer.alloc(FRAME_BYTES, 1);
  const message = audioMessage(pcm, 7);
  assert.deepEqual(Object.keys(message).sort(), ['frame_ms', 'pcm', 'sample_rate', 'sequence', 'type']);
  assert.equal(message.sample_rate, 48000);
  assert.equal(message.frame_ms, 20);
  assert.equal(message.sequence, 7);
  assert.equal(Buffer.from(message.pcm, 'base64').length, 1920);
});
