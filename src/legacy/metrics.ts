import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { byLabel, total } from '../ops/metrics.js';
import type { SpeechMetrics } from '../speech/metrics.js';
import type { EndReason } from './protocol.js';

/**
 * Prometheus series of the legacy server (the `mode` label comes from the registry's defaults).
 * `snapshot()` (for `/status`) reads the counts back from these series, so the two never disagree;
 * only the first-audio window (for exact percentiles) is kept here. The synthesis real-time factor
 * is recorded once, by the engine: `tts_synthesis_rtf` (src/tts/component.ts). Errors are also
 * counted in the shared `speech_errors_total{protocol="legacy"}` when a SpeechMetrics is given.
 */
export class LegacyMetrics {
  readonly activeSessions: Gauge;
  readonly sessionsTotal: Counter;
  readonly utterancesTotal: Counter<'outcome'>;
  readonly framesTotal: Counter;
  readonly errorsTotal: Counter<'code'>;
  readonly firstAudioSeconds: Histogram;

  private readonly firstAudioWindow: number[] = [];

  constructor(
    registry: Registry,
    private readonly speech?: SpeechMetrics,
  ) {
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
  }

  sessionOpened(): void {
    this.activeSessions.inc();
    this.sessionsTotal.inc();
  }

  sessionClosed(): void {
    this.activeSessions.dec();
  }

  utteranceEnded(outcome: EndReason): void {
    this.utterancesTotal.inc({ outcome });
  }

  frameSent(): void {
    this.framesTotal.inc();
  }

  error(code: string): void {
    this.errorsTotal.inc({ code });
    this.speech?.error('legacy', code);
  }

  firstAudio(ms: number): void {
    this.firstAudioSeconds.observe(ms / 1000);
    this.firstAudioWindow.push(ms);
    if (this.firstAudioWindow.length > 1000) this.firstAudioWindow.shift();
  }

  snapshot(): Record<string, unknown> {
    const sorted = [...this.firstAudioWindow].sort((a, b) => a - b);
    return {
      active_sessions: total(this.activeSessions),
      total_sessions: total(this.sessionsTotal),
      utterances: total(this.utterancesTotal),
      utterances_by_outcome: byLabel(this.utterancesTotal, 'outcome'),
      frames: total(this.framesTotal),
      errors_by_code: byLabel(this.errorsTotal, 'code'),
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
