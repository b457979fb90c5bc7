/** What a transcription request takes and gives back, and why one fails: shared by WhisperEngine, its queue and the HTTP server. */

export interface TranscribeOptions {
  /** ISO-639-1 code of the spoken language. Default 'en'. */
  language?: string;
  /** Text that came before (names, spelling): whisper's initial prompt. */
  prompt?: string;
  /** Sampling temperature, 0 (default) decodes greedily. */
  temperature?: number;
  /** Aborting rejects at once (TranscriptionError 'aborted'); a transcription already running finishes unseen. */
  signal?: AbortSignal;
}

export interface TranscriptionSegment {
  text: string;
  startMs: number;
  endMs: number;
}

export interface Transcription {
  /** The words heard, trimmed ('' for silence). */
  text: string;
  /** Time spent transcribing (not waiting in the queue), ms. */
  durationMs: number;
  /** Length of the audio, ms. */
  audioMs: number;
  language: string;
  segments: TranscriptionSegment[];
}

export type TranscriptionErrorCode = 'queue_full' | 'worker_failed' | 'failed' | 'aborted' | 'disposed' | 'unsupported_language' | 'invalid_audio';

/** Why a transcription did not happen; `code` says what the caller can do (retry later, fix the request...). */
export class TranscriptionError extends Error {
  constructor(
    readonly code: TranscriptionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TranscriptionError';
  }
}
