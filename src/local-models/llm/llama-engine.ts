import { pathToFileURL } from 'node:url';
import type { ChatTurn, FinishReason } from './protocol.js';

export interface GenerateOptions {
  maxTokens: number;
  temperature: number;
  seed?: number;
  signal: AbortSignal;
  /** Called with each piece of text as it is produced. */
  onText: (text: string) => void;
}

export interface Generation {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  /** Of the prompt's tokens, those already evaluated in the sequence (not evaluated again). */
  cachedTokens?: number;
  completionTokens: number;
}

/** Something that turns chat turns into a (streamed) answer. */
export interface ChatEngine {
  readonly name: string;
  generate(turns: ChatTurn[], options: GenerateOptions): Promise<Generation>;
  dispose(): Promise<void>;
}

/**
 * Minimal view of the node-llama-cpp API used here. It is loaded from its private install in MODELS_DIR, not
 * a project dependency: as one, npm would also install its CUDA and Vulkan builds (hundreds of MB).
 */
interface NodeLlamaCpp {
  getLlama(options: Record<string, unknown>): Promise<Llama>;
  LlamaChat: new (options: { contextSequence: LlamaSequence; chatWrapper: unknown }) => LlamaChat;
  resolveChatWrapper(model: LlamaModel): unknown;
}
interface Llama {
  loadModel(options: { modelPath: string }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}
interface LlamaModel {
  createContext(options: Record<string, unknown>): Promise<LlamaContext>;
  dispose(): Promise<void>;
}
interface LlamaContext {
  getSequence(): LlamaSequence;
  dispose(): Promise<void>;
}
interface LlamaSequence {
  /** The tokens the sequence holds evaluated (a copy). */
  readonly contextTokens: readonly unknown[];
  dispose(): void;
}
type HistoryItem = { type: 'system'; text: string } | { type: 'user'; text: string } | { type: 'model'; response: string[] };
interface LlamaChat {
  generateResponse(history: HistoryItem[], options: Record<string, unknown>): Promise<{ response: string; metadata: { stopReason: string } }>;
  /** With `maxTokens: 0`: evaluates the history and the start of a user turn holding `initialUserPrompt`. */
  loadChatAndCompleteUserMessage(history: HistoryItem[], options: { initialUserPrompt: string; maxTokens: number }): Promise<unknown>;
  dispose(): void;
}

export interface LlamaEngineOptions {
  /** The GGUF file (checked by model-files.ts). */
  modelPath: string;
  /** node-llama-cpp's entry module, from the private install in MODELS_DIR. */
  runtimeEntry: string;
  /** Name reported on /v1/models and in responses. */
  name: string;
  /** Parallel requests served at once (each gets its own sequence); more wait. Default 2. */
  parallel?: number;
  /** Context size per sequence, in tokens. Default 2048. */
  contextSize?: number;
  threads?: number;
}

/** A context sequence and the turns its evaluated tokens hold (the last prompt and its answer). */
interface PooledSequence {
  sequence: LlamaSequence;
  turns: string[];
  /** The last answer's history, until the next user turn's start has been evaluated after it. */
  answered?: HistoryItem[];
}

/** How long after an answer its sequence evaluates the next user turn's start (see LlamaEngine). */
const NEXT_TURN_DELAY_MS = 1000;

/**
 * A GGUF language model run by node-llama-cpp's prebuilt CPU binary (both installed by set-up).
 * Requests are stateless (the history comes with each), but the `parallel` context sequences are
 * kept: a request takes the free one whose evaluated turns share the longest prefix with its own,
 * and node-llama-cpp evaluates only what differs. In a conversation that is the new user turn, not
 * the instructions and the whole history again: prompt evaluation dominates time to first token
 * on a CPU. A second after each answer, if no request has taken the sequence by then, it also
 * evaluates the start of the next user turn (the template's end of answer and user header, about
 * 5 tokens) while the answer is being spoken. Right after the answer it would slow the speech of its
 * first sentence down more than it saves.
 */
export class LlamaEngine implements ChatEngine {
  private readonly waiting: Array<() => void> = [];
  private readonly free: PooledSequence[] = [];
  /** Sequences evaluating a next turn's start (see evaluateNextTurnStart). */
  private readonly preparing = new Set<PooledSequence>();
  private disposed = false;

  private constructor(
    readonly name: string,
    private readonly lib: NodeLlamaCpp,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    /** Resolved once: resolving the chat template per request costs seconds on a loaded machine. */
    private readonly chatWrapper: unknown,
    parallel: number,
  ) {
    for (let i = 0; i < parallel; i++) this.free.push({ sequence: context.getSequence(), turns: [] });
  }

  static async load(options: LlamaEngineOptions): Promise<LlamaEngine> {
    const { modelPath } = options;
    const lib = (await import(pathToFileURL(options.runtimeEntry).href)) as NodeLlamaCpp;
    // Never let it fetch or build llama.cpp at run time: offline, prebuilt CPU binary only.
    const llama = await lib.getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: 'error' });
    const model = await llama.loadModel({ modelPath });
    const parallel = options.parallel ?? 2;
    const context = await model.createContext({
      sequences: parallel,
      contextSize: options.contextSize ?? 2048,
      threads: options.threads ?? 1,
    });
    const engine = new LlamaEngine(options.name, lib, llama, model, context, lib.resolveChatWrapper(model), parallel);
    // One tiny generation so the first real request is not a cold start (matters for latency benchmarks).
    await engine.generate([{ role: 'user', text: 'Hi' }], { maxTokens: 1, temperature: 0, signal: AbortSignal.timeout(30_000), onText: () => {} });
    return engine;
  }

  /** Requests waiting for a free sequence. */
  get queued(): number {
    return this.waiting.length;
  }

  async generate(turns: ChatTurn[], options: GenerateOptions): Promise<Generation> {
    const keys = turns.map(turnKey);
    const pooled = await this.acquire(keys);
    // what the sequence holds afterwards: unknown unless the answer completes
    pooled.turns = [];
    pooled.answered = undefined;
    const chat = new this.lib.LlamaChat({ contextSequence: pooled.sequence, chatWrapper: this.chatWrapper });
    try {
      if (options.signal.aborted) return { text: '', finishReason: 'stop', promptTokens: 0, completionTokens: 0 };
      const held = pooled.sequence.contextTokens;
      const history = toHistory(turns);
      let completionTokens = 0;
      const result = await chat.generateResponse(history, {
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        seed: options.seed,
        signal: options.signal,
        stopOnAbortSignal: true,
        onTextChunk: options.onText,
        onToken: (tokens: unknown[]) => {
          completionTokens += tokens.length;
        },
      });
      pooled.turns = [...keys, turnKey({ role: 'assistant', text: result.response })];
      pooled.answered = [...history.slice(0, -1), { type: 'model', response: [result.response] }];
      // the sequence now holds the prompt, then the answer
      const now = pooled.sequence.contextTokens;
      const promptTokens = Math.max(0, now.length - completionTokens);
      return {
        text: result.response,
        finishReason: result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
        promptTokens,
        cachedTokens: Math.min(commonPrefix(held, now), promptTokens),
        completionTokens,
      };
    } finally {
      chat.dispose();
      this.release(pooled);
      const answered = pooled.answered;
      if (answered) setTimeout(() => void this.evaluateNextTurnStart(pooled, answered), NEXT_TURN_DELAY_MS).unref();
    }
  }

  /** If the sequence is still free and holds that answer: the next user turn's start, evaluated ahead. */
  private async evaluateNextTurnStart(pooled: PooledSequence, answered: HistoryItem[]): Promise<void> {
    const index = this.free.indexOf(pooled);
    if (index < 0 || pooled.answered !== answered || this.disposed) return;
    this.free.splice(index, 1);
    this.preparing.add(pooled);
    pooled.answered = undefined;
    const chat = new this.lib.LlamaChat({ contextSequence: pooled.sequence, chatWrapper: this.chatWrapper });
    try {
      await chat.loadChatAndCompleteUserMessage(answered, { initialUserPrompt: '', maxTokens: 0 });
    } catch {
      // only a head start: the next request evaluates whatever differs
    } finally {
      chat.dispose();
      this.preparing.delete(pooled);
      this.release(pooled);
    }
  }

  private release(pooled: PooledSequence): void {
    this.free.push(pooled);
    // every waiter looks again, in the order they came: the first that can take a sequence does
    for (const wake of this.waiting.splice(0)) wake();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }

  /**
   * The free sequence whose turns share the longest prefix with `keys`. Waits while none is free, or
   * while one that shares more is evaluating a next turn's start (a few tens of ms; taking another
   * would evaluate the whole conversation again).
   */
  private async acquire(keys: string[]): Promise<PooledSequence> {
    for (;;) {
      let best = -1;
      let bestShared = -1;
      this.free.forEach((candidate, index) => {
        const shared = commonPrefix(candidate.turns, keys);
        if (shared > bestShared) {
          best = index;
          bestShared = shared;
        }
      });
      const better = [...this.preparing].some((candidate) => commonPrefix(candidate.turns, keys) > bestShared);
      if (best >= 0 && !better) return this.free.splice(best, 1)[0]!;
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }
}

function commonPrefix(a: readonly unknown[], b: readonly unknown[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function turnKey(turn: ChatTurn): string {
  return `${turn.role}\u0000${turn.text}`;
}

/** node-llama-cpp wants the last item to be the user turn to answer; earlier turns become history. */
function toHistory(turns: ChatTurn[]): HistoryItem[] {
  const history: HistoryItem[] = [];
  for (const t of turns) {
    if (t.role === 'system') history.push({ type: 'system', text: t.text });
    else if (t.role === 'user') history.push({ type: 'user', text: t.text });
    else history.push({ type: 'model', response: [t.text] });
  }
  if (history.at(-1)?.type !== 'user') history.push({ type: 'user', text: '' });
  history.push({ type: 'model', response: [] });
  return history;
}
