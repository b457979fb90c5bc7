import { PiperEngine } from './src/tts/engine.js';
import { spawnSync } from 'node:child_process';
const engine = new PiperEngine({ VOICES_DIR: process.env.HOME + '/.cache/voice-orchestrator/voices', TTS_VOICE: 'en_US-joe-medium', TTS_MAX_VOICES: 2, TTS_INTRA_OP_THREADS: Number(process.argv[2] ?? 0), ESPEAK_LIBRARY: undefined, ESPEAK_DATA_PATH: undefined });
await engine.load(undefined, true);
const text = 'The quick brown fox jumps over the lazy dog.';
for (let round = 0; round < 4; round++) {
  const t: number[] = [];
  for (let i = 0; i < 4; i++) { const t0 = performance.now(); for await (const c of engine.synthesize(text)) void c; t.push(performance.now() - t0); }
  const py = spawnSync(process.env.HOME + '/.cache/voice-orchestrator/venv-ref/bin/python', ['-c', `
import time
from piper import PiperVoice
v = PiperVoice.load('${process.env.HOME}/.cache/voice-orchestrator/voices/en_US-joe-medium.onnx')
list(v.synthesize('Hello there.'))
t=[]
for i in range(4):
    t0=time.perf_counter(); [c.audio_int16_bytes for c in v.synthesize('${text}')]; t.append((time.perf_counter()-t0)*1000)
print(' '.join(f'{x:.0f}' for x in t))`], { encoding: 'utf8' });
  console.log('ours', t.map((x) => x.toFixed(0)).join(' '), '| ref', py.stdout.trim(), py.stderr.slice(0, 200));
}
await engine.close();
