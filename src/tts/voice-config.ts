import { z } from 'zod';

/** The fields of a Piper `NAME.onnx.json` this engine uses (others are allowed and ignored). */
export const voiceConfigSchema = z.object({
  audio: z.object({ sample_rate: z.number().int().min(1000).max(192_000) }),
  espeak: z.object({ voice: z.string().min(1) }).optional(),
  inference: z
    .object({
      noise_scale: z.number().finite().optional(),
      length_scale: z.number().finite().positive().optional(),
      noise_w: z.number().finite().optional(),
    })
    .optional(),
  phoneme_type: z.enum(['espeak', 'text']).default('espeak'),
  phoneme_id_map: z
    .record(z.string(), z.array(z.number().int().min(0)))
    .refine((m) => ['^', '_', '$'].every((k) => (m[k]?.length ?? 0) > 0), 'phoneme_id_map must contain "^", "_" and "$"'),
  num_speakers: z.number().int().min(1).default(1),
  speaker_id_map: z.record(z.string(), z.number().int().min(0)).default({}),
  vowel_clusters: z.array(z.array(z.string().min(1)).min(2)).optional(),
  default_speaker_id: z.number().int().min(0).optional(),
});

export type RawVoiceConfig = z.output<typeof voiceConfigSchema>;

export interface VoiceConfig {
  sampleRate: number;
  espeakVoice: string;
  phonemeType: 'espeak' | 'text';
  phonemeIdMap: ReadonlyMap<string, readonly number[]>;
  /** Phoneme sequences merged into one symbol before id mapping (longest first), as Piper does. */
  vowelClusters: readonly (readonly string[])[];
  numSpeakers: number;
  speakerIdMap: Readonly<Record<string, number>>;
  defaultSpeakerId: number;
  noiseScale: number;
  lengthScale: number;
  noiseW: number;
}

export function toVoiceConfig(raw: RawVoiceConfig): VoiceConfig {
  return {
    sampleRate: raw.audio.sample_rate,
    espeakVoice: raw.espeak?.voice ?? 'en-us',
    phonemeType: raw.phoneme_type,
    phonemeIdMap: new Map(Object.entries(raw.phoneme_id_map)),
    vowelClusters: raw.vowel_clusters ?? [],
    numSpeakers: raw.num_speakers,
    speakerIdMap: raw.speaker_id_map,
    defaultSpeakerId: raw.default_speaker_id ?? 0,
    noiseScale: raw.inference?.noise_scale ?? 0.667,
    lengthScale: raw.inference?.length_scale ?? 1,
    noiseW: raw.inference?.noise_w ?? 0.8,
  };
}
