const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'no', 'fig', 'inc', 'ltd', 'co']);

/**
 * Cuts text into sentences so each can be scheduled on its own (a new text's first sentence may
 * go before the rest of another text). A coarse pre-split: the engine still splits each piece
 * the way Piper does, so a sentence this misses only costs scheduling granularity.
 */
export function splitSentences(text: string): string[] {
  const pieces: string[] = [];
  const boundary = /([.!?\u2026]+["'\u201d\u2019)\]]*)(\s+)(?=["'\u201c\u2018([]?[\p{Lu}\p{N}])|\n\s*\n/gu;
  let start = 0;
  for (const match of text.matchAll(boundary)) {
    const end = (match.index ?? 0) + (match[1]?.length ?? 0);
    const candidate = text.slice(start, end);
    const lastWord = /([\p{L}.]+)[.]$/u.exec(candidate)?.[1]?.toLowerCase();
    if (lastWord && (ABBREVIATIONS.has(lastWord) || /^\p{L}$/u.test(lastWord))) continue;
    if (candidate.trim()) pieces.push(candidate.trim());
    start = (match.index ?? 0) + match[0].length;
  }
  const rest = text.slice(start).trim();
  if (rest) pieces.push(rest);
  return pieces;
}
