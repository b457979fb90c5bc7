/**
 * The sentence tokenizer Piper's sentence adapter uses: the framework's basic one, except that each
 * reply's first clause is a piece of its own (first-clause.ts), so speech starts before the LLM has
 * finished its first sentence.
 */
import { tokenize } from '@livekit/agents';
import { firstClause } from './first-clause.js';

/**
 * The framework would hold a finished sentence back until 10 more characters arrive (for a one-sentence
 * reply: until the LLM is done); one character of look-ahead is enough to know it ended. retainFormat
 * keeps the spaces between sentences in the transcript the user reads.
 */
const SENTENCES = { minSentenceLength: 20, streamContextLength: 1, retainFormat: true } as const;

export class FirstClauseTokenizer extends tokenize.SentenceTokenizer {
  readonly #sentences = new tokenize.basic.SentenceTokenizer(SENTENCES);

  tokenize(text: string): string[] {
    return this.#sentences.tokenize(text);
  }

  stream(): tokenize.SentenceStream {
    return new FirstClauseStream(this.#sentences);
  }
}

/** A piece of text and where it is in the text split: the stream then keeps the spaces between pieces. */
type Piece = [text: string, start: number, end: number];

/** The pieces the basic tokenizer found (consecutive substrings of `text` with retainFormat), with their places. */
function located(text: string, pieces: string[]): Piece[] {
  let at = 0;
  return pieces.map((piece) => {
    const start = Math.max(at, text.indexOf(piece, at));
    at = start + piece.length;
    return [piece, start, at];
  });
}

/** One reply's text in, its pieces out; a flush starts the next reply (its first clause is split off again). */
class FirstClauseStream extends tokenize.BufferedSentenceStream {
  readonly #reply: { start: boolean };

  constructor(sentences: tokenize.basic.SentenceTokenizer) {
    const reply = { start: true };
    const split = (text: string): Piece[] => {
      const pieces = located(text, sentences.tokenize(text));
      const first = pieces[0];
      if (!reply.start || first === undefined) return pieces;
      const clause = firstClause(first[0]);
      if (clause === undefined) {
        // a complete first sentence without a clause: the reply's start has gone by
        if (pieces.length > 1) reply.start = false;
        return pieces;
      }
      reply.start = false;
      const cut = first[1] + clause.length;
      return [[clause, first[1], cut], [text.slice(cut, first[2]), cut, first[2]], ...pieces.slice(1)];
    };
    // the first piece of a reply goes out whatever its length (a clause may be shorter than a sentence)
    super(split, SENTENCES.minSentenceLength, SENTENCES.streamContextLength, { firstTokenLength: 1 });
    this.#reply = reply;
  }

  override flush(): void {
    super.flush();
    this.#reply.start = true;
  }
}
