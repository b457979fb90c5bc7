import { int16ToLeBytes } from '../audio/index.js';
import { wavHeader } from '../audio/wav.js';

/** OpenAI's output rate for every format: 24 kHz, 16-bit, mono. */
export const OUTPUT_RATE = 24_000;

/** The formats OpenAI defines; the ones this server encodes are in SUPPORTED_FORMATS. */
export const OPENAI_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const;
export type OpenAiFormat = (typeof OPENAI_FORMATS)[number];
export const SUPPORTED_FORMATS = ['wav', 'pcm'] as const;
export type SupportedFormat = (typeof SUPPORTED_FORMATS)[number];
/** What a request without `response_format` gets (OpenAI's own default, mp3, needs an encoder this server does not ship). */
export const DEFAULT_FORMAT: SupportedFormat = 'wav';

export function isSupportedFormat(format: string): format is SupportedFormat {
  return (SUPPORTED_FORMATS as readonly string[]).includes(format);
}

/** Turns 24 kHz mono PCM into the bytes of one response format, as it comes. */
export interface StreamEncoder {
  readonly contentType: string;
  /** Bytes before any audio (a WAV header), sent with the first audio. */
  start(): Uint8Array;
  push(pcm: Int16Array): Uint8Array;
}

/**
 * A WAV stream: the length is not known when the header leaves, so the RIFF and data sizes say
 * 0xFFFFFFFF ("to the end of the stream"), as OpenAI's own streamed WAV does.
 */
function wavEncoder(): StreamEncoder {
  return {
    contentType: 'audio/wav',
    start() {
      const header = wavHeader(OUTPUT_RATE, 1, 0);
      const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
      view.setUint32(4, 0xffffffff, true);
      view.setUint32(40, 0xffffffff, true);
      return header;
    },
    push: (pcm) => int16ToLeBytes(pcm),
  };
}

/** Raw 16-bit little-endian samples, 24 kHz mono, no header (OpenAI's `pcm`). */
function pcmEncoder(): StreamEncoder {
  return { contentType: 'audio/pcm', start: () => new Uint8Array(0), push: (pcm) => int16ToLeBytes(pcm) };
}

export function createEncoder(format: SupportedFormat): StreamEncoder {
  return format === 'wav' ? wavEncoder() : pcmEncoder();
}
