import koffi from 'koffi';
import { readFileSync } from 'node:fs';
const lib = koffi.load('libespeak-ng.so.1');
const init = lib.func('int espeak_Initialize(int output, int buflength, const char *path, int options)');
const setVoice = lib.func('int espeak_SetVoiceByName(const char *name)');
const t2p = lib.func('const char *espeak_TextToPhonemes(_Inout_ void **textptr, int textmode, int phonememode)');
console.log('init', init(2, 0, process.env.EDATA ?? null, 0), setVoice('en-us'));
const golden = JSON.parse(readFileSync('/tmp/ha/golden.json', 'utf8'));
let ok = 0;
for (const c of golden.espeakCases) {
  const bytes = Buffer.from(c.text + '\0', 'utf8');
  const mem = koffi.alloc('uint8', bytes.length);
  koffi.encode(mem, 'uint8', Array.from(bytes), bytes.length);
  const base = koffi.address(mem);
  const box = [mem];
  const sentences: string[] = []; let cur = '';
  let prev = 0;
  while (box[0] !== null) {
    const ph = t2p(box, 1, 0x02) as string;
    const next = box[0] === null ? bytes.length - 1 : Number(koffi.address(box[0]) - base);
    const consumed = bytes.subarray(prev, next).toString('utf8');
    prev = next;
    const m = /([.,?!:;])[^.,?!:;]*$/.exec(consumed.trimEnd());
    const term = m ? m[1] : '';
    // strip lang switch flags
    let p = ph.replace(/\([^)]+\)/g, '') + term;
    if (term === ',' || term === ':' || term === ';') p += ' ';
    cur += p;
    if (term === '.' || term === '?' || term === '!') { sentences.push(cur); cur = ''; }
    (globalThis as any).dbg ??= []; 
    if (process.env.DBG) console.log(JSON.stringify({ ph, consumed }));
  }
  if (cur) sentences.push(cur);
  const ours = sentences.map((s) => s.normalize('NFD')).filter(s=>s.length);
  const ref = c.phonemes.map((s: string) => s.normalize('NFD'));
  const same = JSON.stringify(ours) === JSON.stringify(ref);
  if (same) ok++; else console.log('DIFF', c.text, '\n ours', ours, '\n ref ', ref);
  koffi.free(mem);
}
console.log(ok, '/', golden.espeakCases.length);
