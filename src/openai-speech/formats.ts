import { Mp3Encoder } from '@breezystack/lamejs';
import { int16ToLeBytes } from '../audio/index.js';
import { wavHeader } from '../audio/wav.js';

/** OpenAI's output rate for every format: 24 kHz, 16-bit, mono. */
export const OUTPUT_RATE = 24_000;

/** The formats OpenAI defines; the ones this server encodes are in SUPPORTED_FORMATS. */
export const OPENAI_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const;
export type OpenAiFormat = (typeof OPENAI_FORMATS)[number];
export const SUPPORTED_FORMATS = ['mp3', 'wav', 'pcm'] as const;
export type SupportedFormat = (typeof SUPPORTED_FORMATS)[number];
/** The bit rate of `mp3` responses (constant, 24 kHz mono: MPEG-2 Layer III). */
export const MP3_KBPS = 64;
/**
 * What a request without `response_format` gets. OpenAI's own default is mp3; this server keeps wav,
 * lossless and what its clients have always received when they name no format.
 */
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
  /** Bytes after the last audio (what an encoder still holds). */
  finish(): Uint8Array;
}

const NOTHING = new Uint8Array(0);

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
    finish: () => NOTHING,
  };
}

/** Raw 16-bit little-endian samples, 24 kHz mono, no header (OpenAI's `pcm`). */
function pcmEncoder(): StreamEncoder {
  return { contentType: 'audio/pcm', start: () => NOTHING, push: (pcm) => int16ToLeBytes(pcm), finish: () => NOTHING };
}

/**
 * MP3 (LAME, pure JavaScript): each chunk is encoded as it comes and its frames leave at once; the
 * encoder holds back less than two frames (48 ms each at 24 kHz), which `finish` flushes.
 */
function mp3Encoder(): StreamEncoder {
  const lame = new Mp3Encoder(1, OUTPUT_RATE, MP3_KBPS);
  // lamejs returns an Int8Array (its typings say Uint8Array): view the same bytes as unsigned
  const bytes = (out: ArrayBufferView) => new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  return {
    contentType: 'audio/mpeg',
    start: () => NOTHING,
    push: (pcm) => (pcm.length === 0 ? NOTHING : bytes(lame.encodeBuffer(pcm))),
    finish: () => bytes(lame.flush()),
  };
}

export function createEncoder(format: SupportedFormat): StreamEncoder {
  switch (format) {
    case 'mp3':
      return mp3Encoder();
    case 'wav':
      return wavEncoder();
    case 'pcm':
      return pcmEncoder();
  }
}
