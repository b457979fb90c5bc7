import koffi from 'koffi';
import { PhonemizerError } from './errors.js';

/**
 * espeak-ng through its C library (koffi), used the way piper-phonemize uses it: one
 * `espeak_TextToPhonemes` call per clause, IPA without separators, the clause punctuation kept
 * and sentences split where espeak ends one.
 *
 * The rhasspy build of the library exports `espeak_TextToPhonemesWithTerminator`, which reports
 * the clause type; when it is there we use it. The stock Debian library does not, so the
 * terminator is read from the text espeak consumed for the clause (same rules as espeak's own
 * punctuation table for the marks that matter in practice).
 */

export interface EspeakOptions {
  /** Path of libespeak-ng.so.1; default: the system library. */
  library?: string;
  /** Folder containing espeak-ng-data (or that folder itself); default: the library's own. */
  dataPath?: string;
}

export { PhonemizerError };

const AUDIO_OUTPUT_SYNCHRONOUS = 2;
const INITIALIZE_DONT_EXIT = 0x8000;
const CHARS_UTF8 = 1;
const PHONEMES_IPA = 0x02;

// espeak-ng clause flags (readclause.h)
const CLAUSE_TYPE_SENTENCE = 0x00080000;
const CLAUSE_PERIOD = 40 | 0x0000 | CLAUSE_TYPE_SENTENCE;
const CLAUSE_QUESTION = 40 | 0x2000 | CLAUSE_TYPE_SENTENCE;
const CLAUSE_EXCLAMATION = 45 | 0x3000 | CLAUSE_TYPE_SENTENCE;
const CLAUSE_COMMA = 20 | 0x1000 | 0x00040000;
const CLAUSE_COLON = 30 | 0x0000 | 0x00040000;
const CLAUSE_SEMICOLON = 30 | 0x1000 | 0x00040000;

interface Clause {
  /** The text espeak consumed for it (may include the first character of the next clause). */
  text: string;
  phonemes: string;
  /** "." "?" "!" "," ":" ";" or "" */
  terminator: string;
  endOfSentence: boolean;
}

type TextToPhonemes = (box: unknown[], textMode: number, phonemeMode: number, terminator?: number[]) => string | null;

export class Espeak {
  private readonly textToPhonemes: TextToPhonemes;
  private readonly setVoiceByName: (name: string) => number;
  readonly exactTerminators: boolean;
  private currentVoice: string | undefined;

  private constructor(options: EspeakOptions) {
    const libraryPath = options.library ?? 'libespeak-ng.so.1';
    let lib: ReturnType<typeof koffi.load>;
    try {
      lib = koffi.load(libraryPath);
    } catch (err) {
      throw new PhonemizerError(
        `cannot load the espeak-ng library "${libraryPath}" (install the Debian package libespeak-ng1, or set ESPEAK_LIBRARY): ${(err as Error).message}`,
      );
    }
    const initialize = lib.func('int espeak_Initialize(int output, int buflength, const char *path, int options)');
    this.setVoiceByName = lib.func('int espeak_SetVoiceByName(const char *name)') as (name: string) => number;
    let withTerminator: TextToPhonemes | undefined;
    try {
      withTerminator = lib.func(
        'const char *espeak_TextToPhonemesWithTerminator(_Inout_ void **textptr, int textmode, int phonememode, _Out_ int *terminator)',
      ) as TextToPhonemes;
    } catch {
      withTerminator = undefined;
    }
    this.exactTerminators = withTerminator !== undefined;
    this.textToPhonemes =
      withTerminator ?? (lib.func('const char *espeak_TextToPhonemes(_Inout_ void **textptr, int textmode, int phonememode)') as TextToPhonemes);
    const rate = initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, options.dataPath ?? null, INITIALIZE_DONT_EXIT) as number;
    if (rate <= 0) {
      throw new PhonemizerError(
        `espeak-ng could not start (error ${rate}); is espeak-ng-data installed (Debian package espeak-ng-data) or ESPEAK_DATA_PATH right?`,
      );
    }
  }

  private static instance: Espeak | undefined;
  private static instanceKey: string | undefined;

  /** espeak-ng keeps global state, so there is one per process. */
  static get(options: EspeakOptions = {}): Espeak {
    const key = `${options.library ?? ''}\u0000${options.dataPath ?? ''}`;
    if (Espeak.instance) {
      if (Espeak.instanceKey !== key) {
        throw new PhonemizerError('espeak-ng is already loaded with a different library or data path');
      }
      return Espeak.instance;
    }
    Espeak.instance = new Espeak(options);
    Espeak.instanceKey = key;
    return Espeak.instance;
  }

  /** IPA phonemes of `text`, one string per sentence (punctuation kept, as Piper feeds its model). */
  phonemize(text: string, voice: string): string[] {
    return this.phonemizeSentences(text, voice).map((s) => s.phonemes);
  }

  /** Like phonemize, with each sentence's source text (for display). */
  phonemizeSentences(text: string, voice: string): Array<{ text: string; phonemes: string }> {
    this.useVoice(voice);
    const sentences: Array<{ text: string; phonemes: string }> = [];
    let current = '';
    let source = '';
    const finish = () => {
      if (current) sentences.push({ text: source, phonemes: current });
      current = '';
      source = '';
    };
    for (const clause of this.clauses(text)) {
      source += clause.text;
      // language-switch flags such as "(fr)" surround foreign words: dropped, like the reference
      let phonemes = clause.phonemes.replace(/\([^)]+\)/g, '') + clause.terminator;
      if (clause.terminator === ',' || clause.terminator === ':' || clause.terminator === ';') phonemes += ' ';
      current += phonemes;
      if (clause.endOfSentence) finish();
    }
    finish();
    // espeak reads one character into the next clause: give it back to the sentence it starts
    for (let i = 0; i + 1 < sentences.length; i++) {
      const m = /^([\s\S]*[.?!\u2026"'\u201d\u2019)\]]\s*)(\S)$/u.exec(sentences[i]!.text);
      if (m) {
        sentences[i]!.text = m[1]!;
        sentences[i + 1]!.text = m[2]! + sentences[i + 1]!.text;
      }
    }
    for (const s of sentences) s.text = s.text.trim();
    return sentences;
  }

  private useVoice(voice: string): void {
    if (this.currentVoice === voice) return;
    const status = this.setVoiceByName(voice);
    if (status !== 0) throw new PhonemizerError(`espeak-ng has no voice "${voice}" (error ${status})`);
    this.currentVoice = voice;
  }

  private *clauses(text: string): Generator<Clause> {
    const bytes = Buffer.from(`${text}\0`, 'utf8');
    const memory = koffi.alloc('uint8', bytes.length);
    try {
      koffi.encode(memory, 'uint8', Array.from(bytes), bytes.length);
      const base = koffi.address(memory);
      const box: unknown[] = [memory];
      let consumedUpTo = 0;
      while (box[0] !== null) {
        const flags = [0];
        const phonemes = this.exactTerminators ? this.textToPhonemes(box, CHARS_UTF8, PHONEMES_IPA, flags) : this.textToPhonemes(box, CHARS_UTF8, PHONEMES_IPA);
        const atEnd = box[0] === null;
        const next = atEnd ? bytes.length - 1 : Number(koffi.address(box[0]) - base);
        const consumed = bytes.subarray(consumedUpTo, Math.max(consumedUpTo, next)).toString('utf8');
        consumedUpTo = next;
        const { terminator, endOfSentence } = this.exactTerminators ? fromClauseFlags(flags[0]!) : fromConsumedText(consumed, atEnd);
        yield { text: consumed, phonemes: phonemes ?? '', terminator, endOfSentence };
      }
    } finally {
      koffi.free(memory);
    }
  }
}

function fromClauseFlags(flags: number): { terminator: string; endOfSentence: boolean } {
  const punctuation = flags & 0x000fffff;
  const terminator =
    punctuation === CLAUSE_PERIOD
      ? '.'
      : punctuation === CLAUSE_QUESTION
        ? '?'
        : punctuation === CLAUSE_EXCLAMATION
          ? '!'
          : punctuation === CLAUSE_COMMA
            ? ','
            : punctuation === CLAUSE_COLON
              ? ':'
              : punctuation === CLAUSE_SEMICOLON
                ? ';'
                : '';
  return { terminator, endOfSentence: (flags & CLAUSE_TYPE_SENTENCE) === CLAUSE_TYPE_SENTENCE };
}

const CLOSERS = new Set(['"', "'", '\u201c', '\u201d', '\u2018', '\u2019', '\u00ab', '\u00bb', ')', ']', '}']);
/** espeak's clause punctuation -> [Piper terminator, ends a sentence]. */
const PUNCTUATION: Record<string, [string, boolean]> = {
  '.': ['.', true],
  '?': ['?', true],
  '!': ['!', true],
  ',': [',', false],
  ':': [':', false],
  ';': [';', false],
  '\u2013': [';', false], // en dash
  '\u2014': [';', false], // em dash
  '\u2026': ['', false], // ellipsis: espeak flags it as spoken punctuation, Piper keeps no mark
  '\u00a1': ['', false],
  '\u00bf': ['', false],
  '\u3002': ['', true],
  '\uff0e': ['', true],
  '\uff1f': ['', true],
  '\uff01': ['', true],
};

/**
 * The stock library tells us where a clause ended, not why. espeak reads one character past a
 * clause break (the next clause's first letter), so drop that, then closing quotes/brackets,
 * and look at the punctuation left at the end.
 */
export function fromConsumedText(consumed: string, atEnd: boolean): { terminator: string; endOfSentence: boolean } {
  let chars = Array.from(consumed.trimEnd());
  if (!atEnd && chars.length >= 2 && /[\p{L}\p{N}]/u.test(chars.at(-1)!) && !/[\p{L}\p{N}'\u2019]/u.test(chars.at(-2)!)) {
    chars = chars.slice(0, -1);
  }
  while (chars.length > 0 && (CLOSERS.has(chars.at(-1)!) || /\s/u.test(chars.at(-1)!))) chars.pop();
  const last = chars.at(-1);
  if (last === undefined) return { terminator: '', endOfSentence: atEnd };
  if (last === '.' && chars.at(-2) === '.') return { terminator: '', endOfSentence: false }; // "..."
  const known = PUNCTUATION[last];
  if (known) return { terminator: known[0], endOfSentence: known[1] };
  return { terminator: '', endOfSentence: atEnd };
}
