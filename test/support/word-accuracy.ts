/**
 * Scoring what a speech recognizer heard against what was said: one normalization and one word
 * edit distance for every test (Whisper in the agent tests, pocketsphinx in the TTS intelligibility test).
 */

/** Contractions spelled out, so "it's" and "it is" count as the same words (recognizers write either). */
const CONTRACTIONS: Record<string, string> = {
  "we're": 'we are',
  "you're": 'you are',
  "they're": 'they are',
  "it's": 'it is',
  "i'm": 'i am',
  "that's": 'that is',
  "what's": 'what is',
  "he's": 'he is',
  "she's": 'she is',
  "don't": 'do not',
  "can't": 'can not',
  "i'll": 'i will',
};

/**
 * Lower-case words without punctuation, common contractions spelled out and other apostrophes
 * dropped ("Hello, world! It's Bob's." -> ["hello", "world", "it", "is", "bobs"]).
 */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/\u2019/g, "'")
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .split(/\s+/)
    .flatMap((w) => (CONTRACTIONS[w] ?? w).split(' '))
    .map((w) => w.replace(/'/g, ''))
    .filter((w) => w.length > 0);
}

/** Word-level edit distance (substitutions + deletions + insertions) between two word lists. */
export function wordErrors(reference: readonly string[], hypothesis: readonly string[]): number {
  let previous = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const current = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const substitution = previous[j - 1]! + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      current[j] = Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1);
    }
    previous = current;
  }
  return previous[hypothesis.length]!;
}

/**
 * Word accuracy = 1 - word error rate (word edit distance / reference length), floored at 0.
 * 1 means every reference word was recognised in order.
 */
export function wordAccuracy(reference: string, hypothesis: string): number {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  if (ref.length === 0) return hyp.length === 0 ? 1 : 0;
  return Math.max(0, 1 - wordErrors(ref, hyp) / ref.length);
}
