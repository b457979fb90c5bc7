import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobEvent, TurnStage } from './control-channel.js';

/** Seconds; voice turns live between tens of milliseconds and a few seconds. */
const BUCKETS = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

const STAGE_HELP: Record<TurnStage, string> = {
  eou_delay: 'End-of-utterance delay: user stopped speaking -> turn committed (VAD silence, endpointing, waiting for the transcript).',
  transcription_delay: 'User stopped speaking -> final transcript available.',
  stt_duration: 'Speech-to-text request duration.',
  llm_ttft: 'LLM time to first token.',
  llm_first_sentence: 'LLM time to the first complete sentence (what sentence-by-sentence TTS waits for).',
  tts_ttfb: 'Piper TTS time to first audio.',
};

/** The agent's Prometheus series, on the main process registry (default label `mode`). */
export class AgentMetrics {
  readonly sessionsTotal: Counter<'assistant'>;
  readonly providerErrors: Counter<'provider' | 'kind' | 'assistant'>;
  private readonly stages: Record<TurnStage, Histogram<'assistant'>>;
  private readonly e2e: Histogram<'interrupted' | 'assistant'>;
  private readonly overhead: Histogram<'assistant'>;

  constructor(registry: Registry, state: { activeSessions: () => number; registered: () => boolean }) {
    this.sessionsTotal = new Counter({
      name: 'agent_sessions_total',
      help: 'Agent sessions (rooms) accepted since start, by assistant.',
      labelNames: ['assistant'],
      registers: [registry],
    });
    new Gauge({
      name: 'agent_sessions_active',
      help: 'Agent sessions (rooms) running now.',
      registers: [registry],
      collect() {
        this.set(state.activeSessions());
      },
    });
    new Gauge({
      name: 'agent_worker_registered',
      help: '1 while the worker is registered with the LiveKit server.',
      registers: [registry],
      collect() {
        this.set(state.registered() ? 1 : 0);
      },
    });
    this.providerErrors = new Counter({
      name: 'agent_provider_errors_total',
      help: 'Failed STT/LLM requests the user got an apology for, by provider and kind (timeout, error, garbage, empty).',
      labelNames: ['provider', 'kind', 'assistant'],
      registers: [registry],
    });
    const stage = (name: TurnStage) =>
      new Histogram({ name: `agent_turn_${name}_seconds`, help: STAGE_HELP[name], labelNames: ['assistant'], buckets: BUCKETS, registers: [registry] });
    this.stages = {
      eou_delay: stage('eou_delay'),
      transcription_delay: stage('transcription_delay'),
      stt_duration: stage('stt_duration'),
      llm_ttft: stage('llm_ttft'),
      llm_first_sentence: stage('llm_first_sentence'),
      tts_ttfb: stage('tts_ttfb'),
    };
    this.e2e = new Histogram({
      name: 'agent_turn_e2e_seconds',
      help: 'Voice to voice: the user stops speaking -> the agent starts speaking, per turn (interrupted: the user talked over the reply).',
      labelNames: ['interrupted', 'assistant'],
      buckets: BUCKETS,
      registers: [registry],
    });
    this.overhead = new Histogram({
      name: 'agent_turn_overhead_seconds',
      help: 'Per turn, the part of voice to voice no provider accounts for: e2e - (end-of-utterance delay + LLM first sentence + TTS first audio).',
      labelNames: ['assistant'],
      buckets: [0, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2],
      registers: [registry],
    });
  }

  record(event: JobEvent): void {
    if (event.type === 'turn') {
      const { assistant } = event;
      for (const [name, ms] of Object.entries(event.stages) as Array<[TurnStage, number]>) this.stages[name].observe({ assistant }, ms / 1000);
      this.e2e.observe({ interrupted: String(event.interrupted), assistant }, event.e2e_ms / 1000);
      if (event.overhead_ms !== undefined) this.overhead.observe({ assistant }, Math.max(0, event.overhead_ms) / 1000);
    } else if (event.type === 'provider_error') this.providerErrors.inc({ provider: event.provider, kind: event.kind, assistant: event.assistant });
  }
}
