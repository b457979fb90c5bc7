import { PiperEngine } from './src/tts/engine.js';
import { encodeWav } from './src/audio/index.js';
import { writeFileSync } from 'node:fs';
const engine = new PiperEngine({ VOICES_DIR: process.env.HOME + '/.cache/voice-orchestrator/voices', TTS_VOICE: 'en_US-joe-medium', TTS_MAX_VOICES: 2, TTS_INTRA_OP_THREADS: 0, ESPEAK_LIBRARY: undefined, ESPEAK_DATA_PATH: undefined });
let t = performance.now();
await engine.load(undefined, true);
console.log('load+warm', performance.now() - t);
let ticks = 0; const iv = setInterval(() => ticks++, 5);
t = performance.now();
const parts: Int16Array[] = [];
for await (const c of engine.synthesize('Hello world. This is a test of the Piper engine, running in Node. How fast is it?')) {
  console.log(JSON.stringify(c.text), c.pcm.length / c.sampleRate, c.synthesisMs.toFixed(0), 'at', (performance.now() - t).toFixed(0), 'ticks', ticks);
  parts.push(c.pcm);
}
clearInterval(iv);
const all = new Int16Array(parts.reduce((a, p) => a + p.length, 0)); let o = 0; for (const p of parts) { all.set(p, o); o += p.length; }
writeFileSync('/tmp/ha/out.wav', encodeWav(all, 22050));
await engine.close();
