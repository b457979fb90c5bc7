/**
 * Test harness, run as a child process by test/tts/inference-worker.test.ts (it may take its
 * process down, so it does not run inside the test runner): the real Piper voice's inference
 * thread is killed while it is inside an inference; prints one JSON line with what the engine did.
 *
 *   node --import tsx test/support/tts/die-mid-inference.ts
 */
import { PiperEngine } from '../../../src/tts/engine.js';
import type { InferenceWorker } from '../../../src/tts/inference-worker.js';
import type { VoiceCache } from '../../../src/tts/voice-cache.js';
import { requireTestVoice, TEST_VOICE } from '../voices.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const died: string[] = [];
const engine = new PiperEngine(
  { VOICES_DIR: requireTestVoice(), TTS_VOICE: TEST_VOICE, TTS_MAX_VOICES: 2, TTS_INTRA_OP_THREADS: 1, ESPEAK_LIBRARY: undefined, ESPEAK_DATA_PATH: undefined },
  { onVoiceDied: (voice) => died.push(voice) },
);

async function workerOf(): Promise<InferenceWorker> {
  const lease = await (engine as unknown as { cache: VoiceCache }).cache.acquire(TEST_VOICE);
  lease.release();
  return (lease.voice as unknown as { worker: InferenceWorker }).worker;
}
const pendingOf = (worker: InferenceWorker) => (worker as unknown as { pending: Map<number, unknown> }).pending.size;

await engine.load(TEST_VOICE);
const worker = await workerOf();
// one sentence of about 180 phonemes: a single inference of a second or more on one thread
const sentence =
  'The committee gathered in the old library on a cold and windy evening to discuss the long list of repairs that the building needed before winter';
const started = performance.now();
const request = engine.synthesize(sentence)[Symbol.asyncIterator]().next();
request.catch(() => undefined);
while (pendingOf(worker) === 0) {
  if (performance.now() - started > 30_000) throw new Error('the inference was never requested');
  await sleep(5);
}
// the thread picks the request up at once (it is idle); let it get well into the inference
await sleep(150);
const inFlightAtKill = pendingOf(worker);
await worker.terminate();
const outcome = await request.then(
  () => ({ rejected: false, message: '' }),
  (err: Error) => ({ rejected: true, message: err.message }),
);
const reloadDeadline = performance.now() + 60_000;
while (engine.voiceProblems().length > 0 && performance.now() < reloadDeadline) await sleep(20);
let samples = 0;
for await (const chunk of engine.synthesize('The voice works again.')) samples += chunk.pcm.length;
await engine.close();
process.stdout.write(`${JSON.stringify({ inFlightAtKill, ...outcome, died, problems: engine.voiceProblems(), samplesAfter: samples })}\n`);
