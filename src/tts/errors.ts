/** Errors the engine raises for voice problems; messages are written for the person who must fix them. */

export class VoiceError extends Error {
  constructor(message: string, readonly voice: string, options?: ErrorOptions) {
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
