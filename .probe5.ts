import * as ort from 'onnxruntime-node';
const model = process.env.HOME + '/.cache/voice-orchestrator/voices/en_US-joe-medium.onnx';
const threads = Number(process.argv[2] ?? 0);
const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', intraOpNumThreads: threads, executionMode: 'sequential' });
const ids = [1,0,41,0,59,0,3,0,23,0,35,0,120,0,74,0,23,0,3,0,15,0,88,0,120,0,14,0,100,0,26,0,3,0,19,0,120,0,51,0,122,0,23,0,31,0,3,0,17,0,108,0,120,0,102,0,25,0,28,0,31,0,3,0,121,0,27,0,100,0,34,0,60,0,3,0,41,0,59,0,3,0,24,0,120,0,18,0,74,0,38,0,21,0,3,0,17,0,120,0,51,0,122,0,66,0,10,0,2];
const feeds = () => ({ input: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]), input_lengths: new ort.Tensor('int64', BigInt64Array.of(BigInt(ids.length)), [1]), scales: new ort.Tensor('float32', Float32Array.of(0.667, 1, 0.8), [3]) });
await s.run(feeds());
const t: number[] = [];
for (let i = 0; i < 5; i++) { const t0 = performance.now(); await s.run(feeds()); t.push(performance.now() - t0); }
console.log('node threads', threads, t.map((x) => x.toFixed(0)).join(' '));
