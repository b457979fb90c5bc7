import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { byLabel } from '../ops/metrics.js';

/**
 * The protocols the speech service is used by; every `speech_*` series carries one as its
 * `protocol` label (`agent`: the LiveKit job processes of this host, over a private socket).
 */
export const PROTOCOLS = ['legacy', 'openai', 'wyoming', 'agent'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** How one synthesis ended: every sentence delivered, cancelled (client gone, STOP, shutdown), or failed. */
export type SynthesisOutcome = 'completed' | 'cancelled' | 'failed';

/**
 * The series shared by every protocol adapter (the `mode` label comes from the registry's defaults).
 * The legacy server keeps its own `legacy_*` series beside these (their names are unchanged).
 */
export class SpeechMetrics {
  readonly active: Gauge<'protocol'>;
  readonly syntheses: Counter<'protocol' | 'outcome'>;
  readonly firstChunkSeconds: Histogram<'protocol'>;
  readonly audioSeconds: Counter<'protocol'>;
  readonly errors: Counter<'protocol' | 'code'>;

  constructor(registry: Registry, waiting: () => number) {
    const registers = [registry];
    this.active = new Gauge({ name: 'speech_syntheses_active', help: 'Texts being synthesized now, by protocol.', labelNames: ['protocol'], registers });
    this.syntheses = new Counter({
      name: 'speech_syntheses_total',
      help: 'Texts synthesized, by protocol and outcome (completed, cancelled, failed).',
      labelNames: ['protocol', 'outcome'],
      registers,
    });
    this.firstChunkSeconds = new Histogram({
      name: 'speech_first_chunk_seconds',
      help: "From a text reaching the speech service to its first sentence's audio, by protocol (the scheduler's wait included).",
      labelNames: ['protocol'],
      buckets: [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
      registers,
    });
    this.audioSeconds = new Counter({
      name: 'speech_audio_seconds_total',
      help: 'Seconds of speech synthesized, by protocol.',
      labelNames: ['protocol'],
      registers,
    });
    this.errors = new Counter({
      name: 'speech_errors_total',
      help: 'Requests refused or failed, by protocol and code (OpenAI statuses and codes, Wyoming error codes, legacy error codes).',
      labelNames: ['protocol', 'code'],
      registers,
    });
    new Gauge({
      name: 'speech_scheduler_waiting',
      help: 'Sentences waiting for the shared speech engine (all protocols).',
      registers,
      collect() {
        this.set(waiting());
      },
    });
  }

  error(protocol: Protocol, code: string): void {
    this.errors.inc({ protocol, code });
  }

  snapshot(): Record<string, unknown> {
    return { syntheses_by_protocol: byLabel(this.syntheses, 'protocol'), active_by_protocol: byLabel(this.active, 'protocol') };
  }
}
