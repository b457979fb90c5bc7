import { concatInt16 } from '../../src/audio/index.js';
import { PiperEngine } from '../../src/tts/engine.js';
import { TEST_VOICE, requireTestVoice } from './voices.js';

/** A text and the speech of it, mono 16-bit PCM at the voice's own rate. */
export interface Clip {
  text: string;
  pcm: Int16Array;
  sampleRate: number;
}

/** Real speech for speech-to-text tests: the repo's Piper engine says each text in the test voice. */
export async function piperClips(texts: readonly string[]): Promise<Clip[]> {
  const piper = new PiperEngine({
    VOICES_DIR: requireTestVoice(),
    TTS_VOICE: TEST_VOICE,
    TTS_MAX_VOICES: 1,
    TTS_INTRA_OP_THREADS: 0,
    ESPEAK_LIBRARY: undefined,
    ESPEAK_DATA_PATH: undefined,
  });
  try {
    const clips: Clip[] = [];
    for (const text of texts) clips.push(await speak(piper, text));
    return clips;
  } finally {
    await piper.close();
  }
}

/** All of `engine`'s speech of `text`, joined into one clip. */
export async function speak(engine: Pick<PiperEngine, 'synthesize'>, text: string): Promise<Clip> {
  const parts: Int16Array[] = [];
  let sampleRate = 0;
  for await (const chunk of engine.synthesize(text)) {
    parts.push(chunk.pcm);
    sampleRate = chunk.sampleRate;
  }
  return { text, pcm: concatInt16(parts), sampleRate };
}
