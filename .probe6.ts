import { PiperEngine } from './src/tts/engine.js';
const threads = Number(process.argv[2] ?? 0);
const engine = new PiperEngine({ VOICES_DIR: process.env.HOME + '/.cache/voice-orchestrator/voices', TTS_VOICE: 'en_US-joe-medium', TTS_MAX_VOICES: 2, TTS_INTRA_OP_THREADS: threads, ESPEAK_LIBRARY: undefined, ESPEAK_DATA_PATH: undefined });
await engine.load(undefined, true);
const t: number[] = [];
for (let i = 0; i < 5; i++) { const t0 = performance.now(); for await (const c of engine.synthesize('The quick brown fox jumps over the lazy dog.')) void c; t.push(performance.now() - t0); }
console.log('engine threads', threads, t.map((x) => x.toFixed(0)).join(' '));
await engine.close();
