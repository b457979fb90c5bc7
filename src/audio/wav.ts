import wavefile from 'wavefile';

export interface PcmAudio {
  /** Interleaved signed 16-bit samples. */
  samples: Int16Array;
  sampleRate: number;
  channels: number;
}

/** Encodes 16-bit PCM as a RIFF/WAVE file. */
export function encodeWav(samples: Int16Array, sampleRate: number, channels = 1): Uint8Array {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(channels, sampleRate, '16', samples);
  return wav.toBuffer();
}

/** Decodes a WAVE file (any bit depth wavefile understands) to 16-bit PCM. Throws on malformed input. */
export function decodeWav(bytes: Uint8Array): PcmAudio {
  const wav = new wavefile.WaveFile(bytes);
  const fmt = wav.fmt as { numChannels: number; sampleRate: number };
  if ((wav.bitDepth as string) !== '16') wav.toBitDepth('16');
  const data = wav.getSamples(true, Int16Array) as unknown as Int16Array;
  return { samples: data, sampleRate: fmt.sampleRate, channels: fmt.numChannels };
}
