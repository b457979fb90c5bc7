import koffi from 'koffi';
const P = process.env.HOME + '/.cache/voice-orchestrator/venv-ref/lib/python3.11/site-packages/';
const lib = koffi.load(P + 'piper_phonemize.libs/libespeak-ng-e09f6b87.so.1.1.51');
const init = lib.func('int espeak_Initialize(int output, int buflength, const char *path, int options)');
const setVoice = lib.func('int espeak_SetVoiceByName(const char *name)');
const t2p = lib.func('const char *espeak_TextToPhonemesWithTerminator(_Inout_ void **textptr, int textmode, int phonememode, _Out_ int *terminator)');
console.log(init(2, 0, P + 'piper_phonemize', 0), setVoice('en-us'));
for (const text of process.argv.slice(2)) {
  const bytes = Buffer.from(text + '\0', 'utf8');
  const mem = koffi.alloc('uint8', bytes.length);
  koffi.encode(mem, 'uint8', Array.from(bytes), bytes.length);
  const box = [mem]; const out = [];
  while (box[0] !== null) { const term = [0]; const ph = t2p(box, 1, 2, term); out.push([ph, term[0]!.toString(16)]); }
  console.log(JSON.stringify(out));
}
