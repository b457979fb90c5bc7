import koffi from 'koffi';
const lib = koffi.load('libespeak-ng.so.1');
const init = lib.func('int espeak_Initialize(int output, int buflength, const char *path, int options)');
const setVoice = lib.func('int espeak_SetVoiceByName(const char *name)');
const t2p = lib.func('const char *espeak_TextToPhonemes(_Inout_ void **textptr, int textmode, int phonememode)');
init(2, 0, process.env.EDATA ?? null, 0); setVoice('en-us');
for (const text of process.argv.slice(2)) {
  const bytes = Buffer.from(text + '\0', 'utf8');
  const mem = koffi.alloc('uint8', bytes.length);
  koffi.encode(mem, 'uint8', Array.from(bytes), bytes.length);
  const base = koffi.address(mem);
  const box = [mem]; let prev = 0; const out = [];
  while (box[0] !== null) { const ph = t2p(box, Number(process.env.TM ?? 1), 2); const next = box[0] === null ? bytes.length - 1 : Number(koffi.address(box[0]) - base); out.push([ph, bytes.subarray(prev, next).toString()]); prev = next; }
  console.log(JSON.stringify(out));
}
