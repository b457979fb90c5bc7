/** Test helpers for MP3 responses: a frame-by-frame check of the stream, and a decoder (the system's libmpg123, through koffi). */
import koffi from 'koffi';

export interface Mp3Frame {
  /** 1 (MPEG-1), 2 (MPEG-2) or 2.5. */
  version: number;
  layer: number;
  kbps: number;
  sampleRate: number;
  channels: number;
  bytes: number;
}

const SAMPLE_RATES: Record<number, readonly number[]> = { 1: [44100, 48000, 32000], 2: [22050, 24000, 16000], 2.5: [11025, 12000, 8000] };
const LAYER3_KBPS: Record<number, readonly number[]> = {
  1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};

/** The Layer III frame header at `offset` (sync 0xFFE, then version, layer, bit rate, sample rate, channel mode), or undefined. */
export function mp3FrameAt(bytes: Uint8Array, offset: number): Mp3Frame | undefined {
  if (offset + 4 > bytes.length) return undefined;
  const header = new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0);
  if (header >>> 21 !== 0x7ff) return undefined;
  const version = [2.5, 0, 2, 1][(header >>> 19) & 3] ?? 0;
  const layer = [0, 3, 2, 1][(header >>> 17) & 3] ?? 0;
  if (version === 0 || layer !== 3) return undefined;
  const kbps = LAYER3_KBPS[version === 1 ? 1 : 2]?.[(header >>> 12) & 15];
  const sampleRate = SAMPLE_RATES[version]?.[(header >>> 10) & 3];
  if (!kbps || !sampleRate) return undefined;
  const padding = (header >>> 9) & 1;
  const channels = ((header >>> 6) & 3) === 3 ? 1 : 2;
  const bytesPerFrame = Math.floor(((version === 1 ? 144 : 72) * kbps * 1000) / sampleRate) + padding;
  return { version, layer, kbps, sampleRate, channels, bytes: bytesPerFrame };
}

/** Walks the stream frame by frame; throws unless it is back-to-back Layer III frames to the last byte. */
export function mp3Frames(bytes: Uint8Array): Mp3Frame[] {
  const frames: Mp3Frame[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const frame = mp3FrameAt(bytes, offset);
    if (!frame) throw new Error(`no valid MPEG Layer III frame header at byte ${offset} of ${bytes.length}`);
    frames.push(frame);
    offset += frame.bytes;
  }
  if (offset !== bytes.length) throw new Error(`the last frame runs ${offset - bytes.length} bytes past the end of the stream`);
  return frames;
}

const MPG123_OK = 0;
const MPG123_NEED_MORE = -10;
const MPG123_NEW_FORMAT = -11;
const MPG123_DONE = -12;
const MPG123_ENC_SIGNED_16 = 0xd0;

interface Mpg123 {
  init: () => number;
  create: (decoder: null, error: number[]) => unknown;
  openFeed: (handle: unknown) => number;
  feed: (handle: unknown, data: Buffer, size: number) => number;
  read: (handle: unknown, out: Buffer, size: number, done: number[]) => number;
  getFormat: (handle: unknown, rate: number[], channels: number[], encoding: number[]) => number;
  destroy: (handle: unknown) => void;
}

let library: Mpg123 | null | undefined;

function mpg123(): Mpg123 | null {
  if (library !== undefined) return library;
  try {
    const lib = koffi.load('libmpg123.so.0');
    library = {
      init: lib.func('int mpg123_init()') as Mpg123['init'],
      create: lib.func('void *mpg123_new(const char *decoder, _Out_ int *error)') as Mpg123['create'],
      openFeed: lib.func('int mpg123_open_feed(void *mh)') as Mpg123['openFeed'],
      feed: lib.func('int mpg123_feed(void *mh, const uint8_t *data, size_t size)') as Mpg123['feed'],
      read: lib.func('int mpg123_read(void *mh, _Out_ uint8_t *out, size_t size, _Out_ size_t *done)') as Mpg123['read'],
      getFormat: lib.func('int mpg123_getformat(void *mh, _Out_ long *rate, _Out_ int *channels, _Out_ int *encoding)') as Mpg123['getFormat'],
      destroy: lib.func('void mpg123_delete(void *mh)') as Mpg123['destroy'],
    };
    library.init();
  } catch {
    library = null;
  }
  return library;
}

/** Decodes a whole MP3 stream to 16-bit samples with libmpg123 (Debian's libmpg123-0); undefined when the library is not installed. */
export function decodeMp3(bytes: Uint8Array): { sampleRate: number; channels: number; pcm: Int16Array } | undefined {
  const lib = mpg123();
  if (!lib) return undefined;
  const error = [0];
  const handle = lib.create(null, error);
  if (!handle) throw new Error(`mpg123_new failed (${error[0]})`);
  try {
    if (lib.openFeed(handle) !== MPG123_OK) throw new Error('mpg123_open_feed failed');
    if (lib.feed(handle, Buffer.from(bytes), bytes.length) !== MPG123_OK) throw new Error('mpg123_feed failed');
    const out = Buffer.alloc(64 * 1024);
    const parts: Buffer[] = [];
    const format = { sampleRate: 0, channels: 0 };
    for (;;) {
      const done = [0];
      const result = lib.read(handle, out, out.length, done);
      if (done[0]) parts.push(Buffer.from(out.subarray(0, done[0])));
      if (result === MPG123_NEW_FORMAT) {
        const [rate, channels, encoding] = [[0], [0], [0]];
        lib.getFormat(handle, rate, channels, encoding);
        if (encoding[0] !== MPG123_ENC_SIGNED_16) throw new Error(`libmpg123 decodes to encoding ${encoding[0]}, not signed 16-bit`);
        Object.assign(format, { sampleRate: rate[0], channels: channels[0] });
      } else if (result === MPG123_NEED_MORE || result === MPG123_DONE) {
        break;
      } else if (result !== MPG123_OK) {
        throw new Error(`mpg123_read failed (${result})`);
      }
    }
    const all = Buffer.concat(parts);
    const pcm = new Int16Array(all.length / 2);
    for (let i = 0; i < pcm.length; i++) pcm[i] = all.readInt16LE(i * 2);
    return { ...format, pcm };
  } finally {
    lib.destroy(handle);
  }
}
