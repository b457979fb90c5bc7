import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EndReason } from './protocol.js';

/**
 * Prometheus series of the legacy server (the `mode` label comes from the registry's defaults),
 * plus the in-memory counters and a latency window that `status()` reports.
 */
export class LegacyMetrics {
  readonly activeSessions: Gauge;
  readonly sessionsTotal: Counter;
  readonly utterancesTotal: Counter<'outcome'>;
  readonly framesTotal: Counter;
  readonly errorsTotal: Counter<'code'>;
  readonly firstAudioSeconds: Histogram;
  readonly synthesisRtf: Histogram;

  private active = 0;
  private total = 0;
  private utterances = 0;
  private frames = 0;
  private readonly utteranceOutcomes = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly firstAudioWindow: number[] = [];

  constructor(registry: Registry) {
    const registers = [registry];
    this.activeSessions = new Gauge({ name: 'legacy_sessions_active', help: 'Open legacy WebSocket sessions.', registers });
    this.sessionsTotal = new Counter({ name: 'legacy_sessions_total', help: 'Legacy WebSocket sessions opened.', registers });
    this.utterancesTotal = new Counter({
      name: 'legacy_utterances_total',
      help: 'Texts spoken, by outcome (completed, stopped, error, client_disconnect, shutdown, ...).',
      labelNames: ['outcome'],
      registers,
    });
    this.framesTotal = new Counter({ name: 'legacy_audio_frames_total', help: '20 ms audio frames sent.', registers });
    this.errorsTotal = new Counter({
      name: 'legacy_errors_total',
      help: 'Errors by code: sent to clients, or refusals before the upgrade.',
      labelNames: ['code'],
      registers,
    });
    this.firstAudioSeconds = new Histogram({
      name: 'legacy_first_audio_seconds',
      help: 'From a text arriving to its first audio frame leaving.',
      buckets: [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
      registers,
    });
    this.synthesisRtf = new Histogram({
      name: 'legacy_synthesis_rtf',
      help: 'Synthesis real-time factor per sentence (synthesis time / audio duration).',
      buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5],
      registers,
    });
  }

  sessionOpened(): void {
    this.active++;
    this.total++;
    this.activeSessions.set(this.active);
    this.sessionsTotal.inc();
  }

  sessionClosed(): void {
    this.active--;
    this.activeSessions.set(this.active);
  }

  utteranceEnded(outcome: EndReason): void {
    this.utterances++;
    this.utteranceOutcomes.set(outcome, (this.utteranceOutcomes.get(outcome) ?? 0) + 1);
    this.utterancesTotal.inc({ outcome });
  }

  frameSent(): void {
    this.frames++;
    this.framesTotal.inc();
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    this.errorsTotal.inc({ code });
  }

  firstAudio(ms: number): void {
    this.firstAudioSeconds.observe(ms / 1000);
    this.firstAudioWindow.push(ms);
    if (this.firstAudioWindow.length > 1000) this.firstAudioWindow.shift();
  }

  sentenceSynthesized(synthesisMs: number, audioMs: number): void {
    if (audioMs > 0) this.synthesisRtf.observe(synthesisMs / audioMs);
  }

  get activeCount(): number {
    return this.active;
  }

  snapshot(): Record<string, unknown> {
    const sorted = [...this.firstAudioWindow].sort((a, b) => a - b);
    return {
      active_sessions: this.active,
      total_sessions: this.total,
      utterances: this.utterances,
      utterances_by_outcome: Object.fromEntries(this.utteranceOutcomes),
      frames: this.frames,
      errors_by_code: Object.fromEntries(this.errors),
      first_audio_ms: {
        samples: sorted.length,
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
      },
    };
  }
}

/** Nearest-rank percentile of an ascending list; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return Math.round((sorted[rank - 1] ?? 0) * 10) / 10;
}
