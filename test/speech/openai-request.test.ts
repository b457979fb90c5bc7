import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VARIABLES } from '../../src/config/schema.js';
import { parseSpeechRequest, type RequestError } from '../../src/openai-speech/request.js';
import { VoiceCatalog } from '../../src/speech/voices.js';
import { TEST_VOICE, testVoicesDir } from '../support/voices.js';

const catalog = new VoiceCatalog(testVoicesDir(), TEST_VOICE);
const parse = (body: unknown, voiceMap: Record<string, string> = {}) => parseSpeechRequest(body, { maxInputChars: 100, voiceMap, catalog });

test('OPENAI_VOICE_MAP parses NAME:VOICE pairs and refuses anything else', () => {
  const schema = VARIABLES.OPENAI_VOICE_MAP.schema;
  assert.deepEqual(schema.parse(''), {});
  assert.deepEqual(schema.parse(' alloy:en_US-joe-medium , nova:en_GB-alan-low'), { alloy: 'en_US-joe-medium', nova: 'en_GB-alan-low' });
  for (const bad of ['alloy', 'alloy:', 'alloy:../x', ':voice', 'a b:voice']) assert.equal(schema.safeParse(bad).success, false, bad);
});

test('voices: OpenAI names map (OPENAI_VOICE_MAP, else TTS_VOICE), installed Piper names pass, others are refused', async () => {
  const base = { model: 'tts-1', input: 'Hi.' };
  assert.equal((await parse({ ...base, voice: 'shimmer' })).voice, TEST_VOICE);
  assert.equal((await parse({ ...base, voice: 'Alloy' })).voice, TEST_VOICE);
  assert.equal((await parse({ ...base, voice: { id: TEST_VOICE } })).voice, TEST_VOICE);
  await assert.rejects(
    parse({ ...base, voice: 'alloy' }, { alloy: 'xx_XX-missing-low' }),
    (err: RequestError) => err.param === 'voice' && /maps to xx_XX-missing-low/.test(err.message),
  );
  await assert.rejects(parse({ ...base, voice: 'nobody' }), (err: RequestError) => err.code === 'voice_not_found');
});

test('defaults: wav when response_format is absent, speed as given, sse only when asked', async () => {
  const params = await parse({ model: 'anything', input: 'Hi.', voice: 'alloy' });
  assert.deepEqual([params.format, params.speed, params.sse], ['wav', undefined, false]);
  const sse = await parse({ model: 'x', input: 'Hi.', voice: 'alloy', response_format: 'pcm', speed: 0.25, stream_format: 'sse' });
  assert.deepEqual([sse.format, sse.speed, sse.sse], ['pcm', 0.25, true]);
  assert.equal((await parse({ model: 'x', input: 'Hi.', voice: 'alloy', response_format: 'mp3' })).format, 'mp3');
  for (const format of ['opus', 'aac', 'flac', 'MP3']) {
    await assert.rejects(parse({ model: 'x', input: 'Hi.', voice: 'alloy', response_format: format }), (err: RequestError) => err.code === 'unsupported_value');
  }
  await assert.rejects(parse({ model: 'x', input: 'Hi.', voice: 'alloy', stream_format: 'ws' }), (err: RequestError) => err.param === 'stream_format');
  await assert.rejects(parse({ model: '', input: 'Hi.', voice: 'alloy' }), (err: RequestError) => err.param === 'model');
});
