import { join } from 'node:path';
import { LlamaEngine, type LlamaEngineOptions } from '../../src/local-models/llm/llama-engine.js';
import { checkedLlamaRuntime, checkedModelFile } from '../../src/local-models/model-files.js';
import { peerCacheDir } from './cache.js';
import { StandInEngine, type ChatEngine } from './llm-peer/engines.js';
import { ChatCompletionsServer, type PeerMode } from './llm-peer/server.js';

export type { PeerMode } from './llm-peer/server.js';

export interface LlmServerOptions {
  /**
   * `smollm2` (default): the REAL model SmolLM2-135M-Instruct via node-llama-cpp (scripts/setup/llm.sh).
   * `stand-in`: NOT a model; answers "You said: <last user message>." over the same wire protocol.
   */
  engine?: 'smollm2' | 'stand-in';
  port?: number;
  mode?: PeerMode;
  /** Delay of mode `slow`, ms (default 3000). */
  delayMs?: number;
  /** Tokens per answer when the request sets none (default 48). */
  defaultMaxTokens?: number;
  /** Upper bound on max_tokens (default 128). */
  maxTokensCap?: number;
  /** Real model only: requests served in parallel, threads, context size per request. */
  llama?: Pick<LlamaEngineOptions, 'parallel' | 'threads' | 'contextSize'>;
}

/**
 * An OpenAI-compatible chat-completions server on 127.0.0.1 (streaming SSE with usage), in this process.
 * Use `baseURL` as `LLM_BASE_URL` and `model` as `LLM_MODEL`; any API key is accepted.
 */
export class LlmTestServer {
  private constructor(
    private readonly server: ChatCompletionsServer,
    private readonly engine: ChatEngine,
    readonly port: number,
  ) {}

  static async start(options: LlmServerOptions = {}): Promise<LlmTestServer> {
    const engine: ChatEngine = options.engine === 'stand-in' ? new StandInEngine() : await loadTestModel(options.llama);
    const server = new ChatCompletionsServer({
      engine,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.delayMs !== undefined ? { delayMs: options.delayMs } : {}),
      ...(options.defaultMaxTokens !== undefined ? { defaultMaxTokens: options.defaultMaxTokens } : {}),
      ...(options.maxTokensCap !== undefined ? { maxTokensCap: options.maxTokensCap } : {}),
    });
    try {
      return new LlmTestServer(server, engine, await server.listen());
    } catch (error) {
      await engine.dispose();
      throw error;
    }
  }

  /** OpenAI-style base URL, ending in /v1. */
  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Model id it reports (any requested model name is accepted). */
  get model(): string {
    return this.engine.name;
  }

  /** True for the stand-in (not a language model): name it so in test titles. */
  get isStandIn(): boolean {
    return this.engine instanceof StandInEngine;
  }

  /** Chat-completion requests received so far (in any mode). */
  get requests(): number {
    return this.server.requests;
  }

  get mode(): PeerMode {
    return this.server.mode;
  }

  /** Switches the fault mode (also reachable over HTTP: POST /control {"mode","delay_ms"}). */
  setMode(mode: PeerMode, delayMs?: number): void {
    this.server.mode = mode;
    if (delayMs !== undefined) this.server.delayMs = delayMs;
  }

  /** Closes the port (clients get "connection refused") but keeps the model loaded; see `comeBack()`. */
  async goAway(): Promise<void> {
    await this.server.close();
  }

  /** Listens again on the same port after `goAway()`. */
  async comeBack(): Promise<void> {
    if (!this.server.listening) await this.server.listen(this.port);
  }

  async stop(): Promise<void> {
    await this.server.close();
    await this.engine.dispose();
  }
}

/** The model set-up installs (the product's default LOCAL_LLM_MODEL), from the download cache. */
export const TEST_LLM_FILE = 'SmolLM2-135M-Instruct.Q4_1.gguf';

export function loadTestModel(options: LlmServerOptions['llama'] = {}): Promise<LlamaEngine> {
  const dir = join(peerCacheDir(), 'models');
  return LlamaEngine.load({
    ...options,
    name: 'smollm2-135m-instruct',
    modelPath: checkedModelFile(dir, TEST_LLM_FILE, 'gguf', 'LOCAL_LLM_MODEL'),
    runtimeEntry: checkedLlamaRuntime(dir),
  });
}

export function startLlmServer(options?: LlmServerOptions): Promise<LlmTestServer> {
  return LlmTestServer.start(options);
}
