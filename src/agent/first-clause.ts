/**
 * Where speech of a reply can start. Piper speaks sentence by sentence, so the agent's first audio
 * waits for the LLM's first sentence; a long one (about 40 ms a token for the default local model)
 * holds it back. A reply's first clause is spoken on its own instead: at least FIRST_CLAUSE_WORDS
 * words ending in a comma, semicolon, colon or dash before more text ("Of course, ..."). Numbers like
 * "3,000" are not clauses (no space after the comma). Later sentences are spoken whole.
 */
const FIRST_CLAUSE_WORDS = 2;
const CLAUSE_END = /[,;:\u2013\u2014](?=\s+\S)/g;
/** A first sentence: terminal punctuation after at least 20 characters (the sentence tokenizer merges shorter ones with the next). */
const FIRST_SENTENCE = /^[\s\S]{20,}?[.!?]+(\s|$)/;

/** The first clause of `text` as defined above, or undefined when `text` has none (yet). */
export function firstClause(text: string): string | undefined {
  for (const match of text.matchAll(CLAUSE_END)) {
    const clause = text.slice(0, match.index + 1);
    if (clause.trim().split(/\s+/).length >= FIRST_CLAUSE_WORDS) return clause;
  }
  return undefined;
}

/** Whether the start of a reply holds enough for speech to start: its first clause or first sentence. */
export function speakableStart(text: string): boolean {
  return firstClause(text) !== undefined || FIRST_SENTENCE.test(text);
}
