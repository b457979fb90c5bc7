import { LlamaEngine } from './llm-peer/engines.js';
const t0 = performance.now();
const e = await LlamaEngine.load({ threads: Number(process.argv[2] ?? 1) });
console.log('load+warmup', (performance.now() - t0).toFixed(0));
for (const q of ['What is the capital of France?', 'Tell me about the moon.', 'Name a fruit.']) {
  const t1 = performance.now(); let first = 0;
  const r = await e.generate([{ role: 'system', text: 'You are a friendly voice assistant. Answer in one short sentence.' }, { role: 'user', text: q }],
    { maxTokens: 32, temperature: 0, signal: new AbortController().signal, onText: () => { if (!first) first = performance.now() - t1; } });
  const dt = performance.now() - t1;
  console.log(`ttft ${first.toFixed(0)} total ${dt.toFixed(0)} tokens ${r.completionTokens} tok/s ${((r.completionTokens - 1) / ((dt - first) / 1000)).toFixed(0)}`);
}
await e.dispose();
