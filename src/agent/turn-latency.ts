/**
 * One record per conversational turn: how long the user waited from the end of their speech to
 * the agent's first audio, and where that time went. Built in the job process from the
 * framework's per-turn metrics and state changes; the main process turns it into histograms and
 * one log line.
 *
 * end to end = end-of-utterance delay (the framework measures it from the end of speech to the
 * committed turn) + committed turn -> the agent starts speaking. The overhead is what no provider
 * accounts for: the time from the committed turn to the LLM's start, plus the time from the first
 * audio being ready (LLM start + first sentence + TTS first audio) to the agent speaking. With
 * preemptive generation the reply starts before the turn is committed: its stages arrive first and
 * are kept for the turn; only what follows the commit or the first audio, whichever is later, is
 * overhead.
 */
import { voice } from '@livekit/agents';
import type { TurnStage } from './control-channel.js';

export interface TurnLatency {
  /** 1 for the first user turn of the conversation. */
  turn: number;
  e2eMs: number;
  overheadMs?: number;
  stages: Partial<Record<TurnStage, number>>;
  /** The user talked over the reply before it ended. */
  interrupted: boolean;
}

/** After the agent stops speaking, how long to wait for the metrics the framework emits at the end of its streams. */
const SETTLE_MS = 300;

export class TurnLatencyTracker {
  private turn = 0;
  private pendingStt: number | undefined;
  /** Stages of a reply started before its turn was committed (preemptive generation), and when its LLM started. */
  private early: { stages: Partial<Record<TurnStage, number>>; llmStartedAt?: number } = { stages: {} };
  private current:
    | { committedAt: number; llmStartedAt?: number; speakingAt?: number; stages: Partial<Record<TurnStage, number>>; interrupted: boolean }
    | undefined;
  private settle: NodeJS.Timeout | undefined;

  constructor(private readonly onTurn: (latency: TurnLatency) => void) {}

  /** Follows a session's metrics and state changes. */
  attach(session: voice.AgentSession): void {
    session.on(voice.AgentSessionEventTypes.MetricsCollected, ({ metrics }) => {
      switch (metrics.type) {
        case 'stt_metrics':
          this.pendingStt = valid(metrics.durationMs);
          break;
        case 'eou_metrics':
          this.committed(metrics.endOfUtteranceDelayMs, metrics.transcriptionDelayMs);
          break;
        case 'llm_metrics':
          this.stage('llm_ttft', metrics.ttftMs);
          break;
        case 'tts_metrics':
          // the sentence adapter reports once per reply (streamed), Piper once per sentence: the reply's first audio counts
          if (metrics.streamed) this.stage('tts_ttfb', metrics.ttfbMs);
          break;
      }
    });
    session.on(voice.AgentSessionEventTypes.AgentStateChanged, ({ newState }) => {
      const turn = this.current;
      if (!turn) return;
      if (newState === 'speaking' && turn.speakingAt === undefined) turn.speakingAt = performance.now();
      else if (newState !== 'speaking' && turn.speakingAt !== undefined) this.settleSoon();
    });
    session.on(voice.AgentSessionEventTypes.UserStateChanged, ({ newState }) => {
      const turn = this.current;
      if (newState === 'speaking' && turn?.speakingAt !== undefined && !this.settle) turn.interrupted = true;
      // a reply started on what the user had said so far is thrown away when they go on
      if (newState === 'speaking') this.early = { stages: {} };
    });
    session.on(voice.AgentSessionEventTypes.Close, () => this.flush());
  }

  /** The LLM's first complete sentence (measured by the LLM guard). */
  firstSentence(ms: number): void {
    this.stage('llm_first_sentence', ms);
  }

  /** An LLM request of a reply started: of the turn in progress, or, between turns, a reply started before its commit. */
  llmStarted(): void {
    const now = performance.now();
    if (this.current) this.current.llmStartedAt ??= now;
    // a reply started earlier on fewer words was thrown away: its stages are not this one's
    else this.early = { stages: {}, llmStartedAt: now };
  }

  private committed(eouMs: number, transcriptionMs: number): void {
    this.flush();
    const stages: Partial<Record<TurnStage, number>> = {};
    const eou = valid(eouMs);
    if (eou !== undefined) stages.eou_delay = eou;
    const transcription = valid(transcriptionMs);
    if (transcription !== undefined) stages.transcription_delay = transcription;
    if (this.pendingStt !== undefined) stages.stt_duration = this.pendingStt;
    this.pendingStt = undefined;
    const early = this.early;
    this.early = { stages: {} };
    this.current = { committedAt: performance.now(), stages: { ...early.stages, ...stages }, interrupted: false };
    if (early.llmStartedAt !== undefined) this.current.llmStartedAt = early.llmStartedAt;
  }

  /**
   * A stage of the turn in progress (some are reported once its streams end, after the agent started
   * speaking), or, between turns, of the next turn's reply started before the commit.
   */
  private stage(name: TurnStage, ms: number | undefined): void {
    const value = valid(ms);
    if (value === undefined) return;
    const stages = this.current ? this.current.stages : this.early.stages;
    stages[name] ??= value;
  }

  private settleSoon(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.flush(), SETTLE_MS);
    this.settle.unref();
  }

  /** Reports the turn in progress if the agent answered it; a turn without an answer is not a latency. */
  private flush(): void {
    clearTimeout(this.settle);
    this.settle = undefined;
    const turn = this.current;
    this.current = undefined;
    if (!turn || turn.speakingAt === undefined) return;
    const { stages } = turn;
    const e2eMs = (stages.eou_delay ?? 0) + (turn.speakingAt - turn.committedAt);
    const { llm_first_sentence: llm, tts_ttfb: tts } = stages;
    let overheadMs: number | undefined;
    if (llm !== undefined && tts !== undefined && turn.llmStartedAt !== undefined) {
      const audioReadyAt = turn.llmStartedAt + llm + tts;
      overheadMs = Math.max(0, turn.llmStartedAt - turn.committedAt) + Math.max(0, turn.speakingAt - Math.max(turn.committedAt, audioReadyAt));
    }
    this.turn += 1;
    this.onTurn({ turn: this.turn, e2eMs, ...(overheadMs !== undefined ? { overheadMs } : {}), stages, interrupted: turn.interrupted });
  }
}

function valid(ms: number | undefined): number | undefined {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
