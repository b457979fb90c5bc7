import type { ChatEngine, Generation, GenerateOptions } from '../../../src/local-models/llm/llama-engine.js';
import type { ChatTurn } from '../../../src/local-models/llm/protocol.js';

export type { ChatEngine } from '../../../src/local-models/llm/llama-engine.js';

/**
 * STAND-IN engine, not a language model: answers deterministically "You said: <last user message>."
 * (cut to maxTokens words). For tests that need an exact answer or no model at all.
 */
export class StandInEngine implements ChatEngine {
  readonly name = 'stand-in';

  async generate(turns: ChatTurn[], options: GenerateOptions): Promise<Generation> {
    const lastUser =
      [...turns]
        .reverse()
        .find((t) => t.role === 'user')
        ?.text.trim() ?? '';
    const words = `You said: ${lastUser.replace(/[.!?]+$/, '')}.`.split(/\s+/);
    const kept = words.slice(0, options.maxTokens);
    let text = '';
    for (const [i, word] of kept.entries()) {
      if (options.signal.aborted) break;
      const piece = i === 0 ? word : ` ${word}`;
      text += piece;
      options.onText(piece);
      await new Promise((r) => setImmediate(r));
    }
    const promptTokens = turns.reduce((n, t) => n + t.text.split(/\s+/).filter(Boolean).length, 0);
    return { text, finishReason: kept.length < words.length ? 'length' : 'stop', promptTokens, completionTokens: kept.length };
  }

  async dispose(): Promise<void> {}
}
