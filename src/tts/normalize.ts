/**
 * Text clean-up before phonemization, so no token reaching espeak-ng is pathological. Ordinary
 * text passes through unchanged (the golden sentences are checked to be identical); only hostile
 * or broken input is touched:
 *
 * - control characters (C0/C1 other than tab, newline, carriage return) become spaces; invisible
 *   format characters (zero-width joiners, bidi overrides, BOM, soft hyphen) and unpaired
 *   surrogates are removed (NUL would cut the text short in the C library);
 * - a punctuation/symbol character repeated in a run is kept once ("!!!!" -> "!"), except "."
 *   (an ellipsis, up to 3) and "-" (a dash, up to 2); a run of mixed punctuation is cut to 4;
 * - stacked apostrophe suffixes are bounded: "dog's's's's" -> "dog's's" (espeak-ng before 1.53
 *   overflows a stack buffer on a word with ~70 of them: espeak-ng PR #2495);
 * - a word (run of non-space characters) longer than `maxWordChars` is cut into pieces of at
 *   most that many characters (no real word is that long; espeak-ng's per-word buffers are).
 */

export interface NormalizeOptions {
  /** Longest run of non-space characters kept whole (default 48, at least 8). */
  maxWordChars?: number;
}

export const DEFAULT_MAX_WORD_CHARS = 48;
const MAX_STACKED_SUFFIXES = 2;
const MAX_MIXED_PUNCTUATION = 4;

const LONE_SURROGATE = /\p{Cs}/gu;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
const ZERO_WIDTH_SPACE = /\u200b/g;
const FORMAT = /\p{Cf}/gu;
const REPEATED_PUNCTUATION = /([^\p{L}\p{N}\p{M}\s])\1+/gu;
const MIXED_PUNCTUATION = new RegExp(`[^\\p{L}\\p{N}\\p{M}\\s]{${MAX_MIXED_PUNCTUATION + 1},}`, 'gu');
const APOSTROPHE = "['\u2018\u2019\u02bc`]";
const STACKED_SUFFIXES = new RegExp(`((?:${APOSTROPHE}[\\p{L}\\p{M}]{1,3}){${MAX_STACKED_SUFFIXES}})(?:${APOSTROPHE}[\\p{L}\\p{M}]{1,3})+`, 'gu');
const MARK = /^\p{M}$/u;

export function normalizeText(text: string, options: NormalizeOptions = {}): string {
  const maxWord = Math.max(8, Math.floor(options.maxWordChars ?? DEFAULT_MAX_WORD_CHARS));
  let out = text
    .replace(LONE_SURROGATE, '')
    .replace(CONTROL, ' ')
    .replace(ZERO_WIDTH_SPACE, ' ')
    .replace(FORMAT, '')
    .replace(REPEATED_PUNCTUATION, (run: string, ch: string) => {
      const keep = ch === '.' ? 3 : ch === '-' ? 2 : 1;
      return Array.from(run).length > keep ? ch.repeat(keep) : run;
    })
    .replace(MIXED_PUNCTUATION, (run) => Array.from(run).slice(0, MAX_MIXED_PUNCTUATION).join(''))
    .replace(STACKED_SUFFIXES, '$1');
  out = out.replace(new RegExp(`\\S{${maxWord + 1},}`, 'gu'), (word) => splitWord(word, maxWord));
  return out;
}

/** Pieces of at most `max` code points, never separating a combining mark from its base. */
function splitWord(word: string, max: number): string {
  const chars = Array.from(word);
  const pieces: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = Math.min(chars.length, start + max);
    if (end < chars.length) {
      let back = end;
      while (back > start + 1 && MARK.test(chars[back]!)) back--;
      end = back;
    }
    pieces.push(chars.slice(start, end).join(''));
    start = end;
  }
  return pieces.join(' ');
}
