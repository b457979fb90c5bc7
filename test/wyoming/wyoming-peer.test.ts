/** The Wyoming server with the PyPI `wyoming` package's own client (scripts/peers/wyoming_client.py), real Piper voice. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { useRealEngine } from '../support/legacy-unit.js';
import { heard, type RunningSpeechServer, startSpeechServer, wyomingPeer } from '../support/speech-server.js';
import { TEST_VOICE } from '../support/voices.js';

const TEXT = 'The weather is nice today. Please open the door for me. I would like a cup of coffee.';

describe('Wyoming TTS server: the wyoming package client', () => {
  const engine = useRealEngine();
  let server: RunningSpeechServer;

  before(async () => {
    server = await startSpeechServer(engine(), { WYOMING_ENABLED: 'true' });
  });
  after(() => server?.stop());

  it('describe -> info with the installed voices, their languages and streaming support', async () => {
    const { code, result } = await wyomingPeer(server.wyomingPort, ['describe']);
    assert.equal(code, 0, JSON.stringify(result));
    const program = result.tts?.[0];
    assert.ok(program, 'one tts program');
    assert.equal(program.supports_synthesize_streaming, true);
    const voice = program.voices.find((v) => v.name === TEST_VOICE);
    assert.deepEqual(voice?.languages, ['en_US']);
  });

  it('synthesize -> audio-start, audio-chunks, audio-stop: intelligible speech at the voice rate', async () => {
    const { code, result } = await wyomingPeer(server.wyomingPort, ['synthesize', '--text', TEXT]);
    assert.equal(code, 0, JSON.stringify(result));
    const types = result.types ?? [];
    assert.equal(types[0], 'audio-start');
    assert.equal(types.at(-1), 'audio-stop');
    assert.ok(types.filter((t) => t === 'audio-chunk').length > 10, 'many audio chunks');
    assert.deepEqual(result.format, { rate: 22050, width: 2, channels: 1 });
    const audio = result.audio;
    assert.ok(audio && audio.pcm.length / audio.sampleRate > 3, 'several seconds of audio');
    console.log(
      `  wyoming synthesize: first audio ${((result.first_audio_s ?? 0) * 1000).toFixed(0)} ms, done ${((result.total_s ?? 0) * 1000).toFixed(0)} ms`,
    );
    assert.ok((result.first_audio_s ?? 99) < (result.total_s ?? 0) * 0.7, 'audio streams before the whole text is done');
    const { text, accuracy } = await heard(audio.pcm, audio.sampleRate, TEXT);
    console.log(`  heard: "${text}" (${(accuracy * 100).toFixed(0)} %)`);
    assert.ok(accuracy >= 0.7, `word accuracy ${accuracy}`);
  });

  it('synthesize-start / synthesize-chunk / synthesize-stop: spoken sentence by sentence, then synthesize-stopped', async () => {
    const chunks = ['The weather is ', 'nice today. Please open', ' the door for me. I would like ', 'a cup of coffee.'];
    const args = ['stream', '--voice', TEST_VOICE, ...chunks.flatMap((c) => ['--chunk', c])];
    const { code, result } = await wyomingPeer(server.wyomingPort, args);
    assert.equal(code, 0, JSON.stringify(result));
    const types = result.types ?? [];
    assert.equal(types.at(-1), 'synthesize-stopped');
    assert.ok(
      types.filter((t) => t === 'audio-start').length >= 2,
      `spoken in parts as sentences completed: ${types.filter((t) => t !== 'audio-chunk').join(' ')}`,
    );
    assert.equal(types.filter((t) => t === 'audio-start').length, types.filter((t) => t === 'audio-stop').length);
    const audio = result.audio;
    assert.ok(audio, 'audio written');
    const { text, accuracy } = await heard(audio.pcm, audio.sampleRate, TEXT);
    console.log(`  streamed: first audio ${((result.first_audio_s ?? 0) * 1000).toFixed(0)} ms; heard: "${text}" (${(accuracy * 100).toFixed(0)} %)`);
    assert.ok(accuracy >= 0.7, `word accuracy ${accuracy}`);
  });

  it('a voice chosen by language, and an unknown voice gets an error event', async () => {
    const byLanguage = await wyomingPeer(server.wyomingPort, ['synthesize', '--language', 'en_US', '--text', 'Hello there.']);
    assert.equal(byLanguage.code, 0, JSON.stringify(byLanguage.result));
    const unknown = await wyomingPeer(server.wyomingPort, ['synthesize', '--voice', 'xx_XX-nobody-low', '--text', 'Hello there.']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.result.code, 'voice_not_found');
    assert.match(unknown.result.error ?? '', new RegExp(TEST_VOICE));
  });
});
