/** Errors the engine raises for voice problems; messages are written for the person who must fix them. */

export class VoiceError extends Error {
  constructor(
    message: string,
    readonly voice: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `NAME.onnx` or `NAME.onnx.json` is not in VOICES_DIR. */
export class VoiceNotFoundError extends VoiceError {}

/** The files exist but cannot be used (bad JSON, wrong fields, not an ONNX model, wrong signature). */
export class VoiceLoadError extends VoiceError {}

/** A speaker name or id the voice does not have. */
export class UnknownSpeakerError extends VoiceError {}

export function downloadHint(voice: string): string {
  return `install it with \`npm run voices -- download ${voice}\` (or set TTS_VOICE/VOICES_DIR to a voice you have; \`npm run voices -- list\` shows them)`;
}

/** A voice name that cannot be a file stem in VOICES_DIR (refused before any file is touched). */
export class InvalidVoiceNameError extends VoiceNotFoundError {}

/** espeak-ng cannot be used (library or data missing, unknown espeak voice) or failed on a text. */
export class PhonemizerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The phonemizer process died while handling a text (a native crash in espeak-ng, or it was
 * killed). Only the request in flight fails; the process is restarted for the next one.
 */
export class PhonemizerCrashedError extends PhonemizerError {
  constructor(
    message: string,
    /** The signal that ended the process (e.g. SIGABRT, SIGSEGV), when it was one. */
    readonly signal: string | null = null,
    /** Its exit code, when it exited instead. */
    readonly exitCode: number | null = null,
  ) {
    super(message);
  }
}

/** The phonemizer process did not answer within its timeout; it was killed and is restarted. */
export class PhonemizerTimeoutError extends PhonemizerError {}
