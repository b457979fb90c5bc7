import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isVoiceName, voicePaths } from '../tts/voice.js';

/** An installed Piper voice as clients see it. */
export interface VoiceInfo {
  name: string;
  /** Piper's language code, e.g. `en_US` (from the voice's `language.code`, else its name's prefix). */
  language: string;
  sampleRate: number;
  /** Speaker names of a multi-speaker voice (empty for a single speaker). */
  speakers: string[];
}

/** How long a listing is reused: a flood of `describe` or `GET /v1/audio/voices` reads the folder at most this often. */
const LIST_TTL_MS = 5000;

/**
 * The voices installed in VOICES_DIR (`NAME.onnx` + `NAME.onnx.json`), read lazily and cached
 * briefly; files that are not a readable voice config are left out.
 */
export class VoiceCatalog {
  readonly voicesDir: string;
  private cached: { at: number; voices: Promise<VoiceInfo[]> } | undefined;

  constructor(
    voicesDir: string,
    readonly defaultVoice: string,
  ) {
    this.voicesDir = resolve(process.cwd(), voicesDir);
  }

  list(): Promise<VoiceInfo[]> {
    const now = performance.now();
    if (!this.cached || now - this.cached.at > LIST_TTL_MS) this.cached = { at: now, voices: readVoices(this.voicesDir) };
    return this.cached.voices;
  }

  async find(name: string): Promise<VoiceInfo | undefined> {
    if (!isVoiceName(name)) return undefined;
    return (await this.list()).find((v) => v.name === name);
  }

  /** The default voice when it speaks `language` (as `en_US`, `en-us` or `en`), else the first installed voice that does. */
  async forLanguage(language: string): Promise<VoiceInfo | undefined> {
    const wanted = language.toLowerCase().replace('-', '_');
    const matches = (v: VoiceInfo) => {
      const code = v.language.toLowerCase();
      return code === wanted || code.split('_')[0] === wanted;
    };
    const voices = (await this.list()).filter(matches);
    return voices.find((v) => v.name === this.defaultVoice) ?? voices[0];
  }
}

async function readVoices(dir: string): Promise<VoiceInfo[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const names = files
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => f.slice(0, -'.onnx'.length))
    .filter(isVoiceName)
    .sort();
  const voices: VoiceInfo[] = [];
  for (const name of names) {
    const info = await readFile(voicePaths(dir, name).config, 'utf8').then(
      (text) => describeVoice(name, text),
      () => undefined,
    );
    if (info) voices.push(info);
  }
  return voices;
}

function describeVoice(name: string, configText: string): VoiceInfo | undefined {
  try {
    const config = JSON.parse(configText) as { audio?: { sample_rate?: unknown }; language?: { code?: unknown }; speaker_id_map?: unknown };
    const sampleRate = Number(config.audio?.sample_rate);
    if (!Number.isInteger(sampleRate) || sampleRate <= 0) return undefined;
    const code = typeof config.language?.code === 'string' ? config.language.code : (name.split('-')[0] ?? '');
    const speakers = config.speaker_id_map && typeof config.speaker_id_map === 'object' ? Object.keys(config.speaker_id_map) : [];
    return { name, language: code, sampleRate, speakers };
  } catch {
    return undefined;
  }
}
