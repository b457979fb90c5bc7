/**
 * Bounded work per inference: a sentence whose phonemes exceed the per-inference maximum is cut
 * into chunks, at clause boundaries (after , ; :) when there is one in the second half of the
 * allowed length, else at the last word boundary (a space), else at a clause boundary anywhere,
 * else hard at the maximum. Boundary spaces are dropped; the punctuation stays with its clause.
 */

const CLAUSE_END = new Set([',', ';', ':']);
const WORD_BREAK = ' ';

/** Cuts `symbols` into runs of at most `max` (>= 1) symbols; a run of <= max comes back as is. */
export function splitPhonemeSymbols(symbols: readonly string[], max: number): string[][] {
  const limit = Math.max(1, Math.floor(max));
  const chunks: string[][] = [];
  let start = 0;
  const skipSpaces = () => {
    while (start < symbols.length && symbols[start] === WORD_BREAK) start++;
  };
  while (symbols.length - start > limit) {
    const windowEnd = start + limit; // exclusive
    let clause = -1;
    let word = -1;
    for (let i = windowEnd - 1; i > start; i--) {
      const s = symbols[i]!;
      if (clause < 0 && CLAUSE_END.has(s)) clause = i;
      if (word < 0 && s === WORD_BREAK) word = i;
      if (clause >= 0 && word >= 0) break;
    }
    // a break exactly at the window's end (the next symbol is a space) is the best word boundary
    if (symbols[windowEnd] === WORD_BREAK) word = windowEnd;
    let end: number; // exclusive
    if (clause >= 0 && clause + 1 - start >= limit / 2) end = clause + 1;
    else if (word > start) end = word;
    else if (clause >= 0) end = clause + 1;
    else end = windowEnd;
    const chunk = symbols.slice(start, end);
    while (chunk.length > 0 && chunk.at(-1) === WORD_BREAK) chunk.pop();
    if (chunk.length > 0) chunks.push(chunk);
    start = end;
    skipSpaces();
  }
  if (start < symbols.length) chunks.push(symbols.slice(start));
  return chunks;
}

/**
 * Splits `text` into `weights.length` consecutive pieces whose lengths follow the weights
 * (phonemes per chunk), each cut moved to the nearest space: display text for the chunks of one
 * sentence. Approximate by nature (phonemes do not map back to letters); never loses text.
 */
export function splitTextByWeights(text: string, weights: readonly number[]): string[] {
  if (weights.length <= 1) return [text];
  let w = weights.map((x) => (Number.isFinite(x) ? Math.max(0, x) : 0));
  if (!w.some((x) => x > 0)) w = w.map(() => 1);
  const total = w.reduce((a, b) => a + b, 0);
  const pieces: string[] = [];
  let start = 0;
  let acc = 0;
  for (let i = 0; i < w.length - 1; i++) {
    acc += w[i]!;
    let cut = Math.round((acc / total) * text.length);
    cut = Math.max(start, Math.min(text.length, nearestSpace(text, cut, start)));
    pieces.push(text.slice(start, cut).trim());
    start = cut;
  }
  pieces.push(text.slice(start).trim());
  return pieces;
}

function nearestSpace(text: string, at: number, min: number): number {
  for (let d = 0; d < text.length; d++) {
    if (at - d >= min && at - d <= text.length && /\s/.test(text[at - d] ?? '')) return at - d;
    if (at + d < text.length && /\s/.test(text[at + d]!)) return at + d;
  }
  return at;
}
