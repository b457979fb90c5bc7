import type { Logger } from '../ops/logger.js';
import type { SpeechService } from '../speech/service.js';
import type { FrameSender } from './frame-sender.js';
import type { LegacyMetrics } from './metrics.js';
import { type EndReason, type ErrorCode, sessionEnd } from './protocol.js';
import { speak } from './speaker.js';
import type { Utterance } from './utterance.js';

export interface UtteranceQueueDeps {
  sessionId: string;
  speech: SpeechService;
  sender: FrameSender;
  metrics: LegacyMetrics;
  log: Logger;
  /** Whether the client asked for utterance_start / utterance_end. */
  utteranceEvents(): boolean;
  sessionEnded(): boolean;
  /** Nothing is left to say. */
  onDrained(): void;
  send(message: object): void;
  sendError(code: ErrorCode, message: string, extra?: Record<string, unknown>): void;
}

/** The accepted texts of one session: spoken one at a time, each ended exactly once. */
export class UtteranceQueue {
  private readonly waiting: Utterance[] = [];
  private current: Utterance | undefined;
  private completed = 0;
  private lastFirstAudio: number | undefined;

  constructor(private readonly deps: UtteranceQueueDeps) {}

  /** Texts waiting behind the one in progress. */
  get queued(): number {
    return this.waiting.length;
  }

  /** A text is in progress (possibly already ended, until its work has wound down). */
  get busy(): boolean {
    return this.current !== undefined;
  }

  get isIdle(): boolean {
    return !this.current && this.waiting.length === 0;
  }

  get speaking(): boolean {
    return this.current !== undefined && !this.current.ended;
  }

  get completedCount(): number {
    return this.completed;
  }

  get lastFirstAudioMs(): number | undefined {
    return this.lastFirstAudio;
  }

  add(utterance: Utterance): void {
    this.waiting.push(utterance);
    if (!this.current) this.startNext();
  }

  /** Ends the current and every queued text with `reason`; returns how many were ended. */
  cancelAll(reason: EndReason, notify: boolean): number {
    const all = [...(this.current ? [this.current] : []), ...this.waiting.splice(0)];
    for (const utterance of all) this.finish(utterance, reason, notify);
    return all.length;
  }

  /**
   * The session is ending: every text ends without its own session_end (one session_end tells the
   * client the session is over); the text being spoken still gets its utterance_end if asked for.
   */
  endWithSession(reason: EndReason): void {
    const current = this.speaking ? this.current : undefined;
    for (const queued of this.waiting.splice(0)) this.finish(queued, reason, false);
    if (!current) return;
    this.finish(current, reason, false);
    if (this.deps.utteranceEvents()) this.deps.send(current.endMessage(reason));
  }

  private startNext(): void {
    const next = this.waiting.shift();
    this.current = next;
    if (!next) {
      this.deps.onDrained();
      return;
    }
    void this.speak(next).finally(() => {
      if (this.current === next) {
        this.current = undefined;
        if (!this.deps.sessionEnded()) this.startNext();
      }
    });
  }

  private async speak(utterance: Utterance): Promise<void> {
    const { deps } = this;
    if (deps.utteranceEvents()) {
      deps.send({
        type: 'utterance_start',
        utterance_id: utterance.id,
        text_chars: utterance.text.length,
        voice: utterance.voice ?? null,
        speed: utterance.speed ?? null,
        next_sequence: deps.sender.sequence + 1,
      });
    }
    const outcome = await speak(utterance, {
      speech: deps.speech,
      sender: deps.sender,
      onFrame: (u, sequence) => {
        if (!u.frameSent(sequence) || u.firstAudioMs === undefined) return;
        this.lastFirstAudio = u.firstAudioMs;
        deps.metrics.firstAudio(u.firstAudioMs);
      },
    });
    if (outcome.kind === 'completed') this.finish(utterance, 'completed');
    else if (outcome.kind === 'failed' && !deps.sessionEnded() && !utterance.ended) this.fail(utterance, outcome.code, outcome.message, outcome.err);
  }

  private fail(utterance: Utterance, code: ErrorCode, message: string, err: unknown): void {
    this.deps.log.warn({ err, utterance: utterance.id, code }, message);
    this.deps.sendError(code, message, this.deps.utteranceEvents() ? { utterance_id: utterance.id } : undefined);
    this.finish(utterance, 'error');
  }

  /** Every accepted text ends exactly once: utterance_end (if asked for) then session_end with the reason. */
  private finish(utterance: Utterance, reason: EndReason, notify = true): void {
    if (!utterance.end(reason)) return;
    this.deps.metrics.utteranceEnded(reason);
    if (reason === 'completed') this.completed++;
    if (!notify) return;
    const events = this.deps.utteranceEvents();
    if (events) this.deps.send(utterance.endMessage(reason));
    this.deps.send(sessionEnd(this.deps.sessionId, reason, events ? { utterance_id: utterance.id } : undefined));
  }
}
