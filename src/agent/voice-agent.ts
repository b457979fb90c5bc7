import { type llm, voice } from '@livekit/agents';
import { guardLlmStream, type LlmFailure } from './llm-guard.js';
import { LLM_APOLOGY } from './settings.js';

/** The agent of one conversation; its LLM replies go through the failure guard. */
export class VoiceAgent extends voice.Agent {
  constructor(
    instructions: string,
    private readonly guard: {
      timeoutMs: number;
      takeProviderError: () => string | undefined;
      onFailure: (kind: LlmFailure['kind'], cause: string) => void;
      /** Each LLM request of a reply, preemptive ones (started before the turn is committed) included. */
      onLlmStart: () => void;
      onFirstSentence: (ms: number) => void;
    },
  ) {
    super({ instructions });
  }

  override async llmNode(chatCtx: llm.ChatContext, toolCtx: llm.ToolContext, modelSettings: voice.ModelSettings): ReturnType<voice.Agent['llmNode']> {
    // An error reported by an earlier, abandoned request (one the user already heard an apology for)
    // says nothing about this turn.
    this.guard.takeProviderError();
    this.guard.onLlmStart();
    const source = await voice.Agent.default.llmNode(this, chatCtx, toolCtx, modelSettings);
    if (!source) return null;
    return guardLlmStream(source, {
      timeoutMs: this.guard.timeoutMs,
      apology: LLM_APOLOGY,
      takeProviderError: this.guard.takeProviderError,
      onFailure: (failure) => this.guard.onFailure(failure.kind, failure.cause),
      onFirstSentence: this.guard.onFirstSentence,
    });
  }
}
