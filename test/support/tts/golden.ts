import { readFileSync } from 'node:fs';
import { Espeak, type EspeakOptions } from '../../../src/tts/espeak.js';
import { phonemesToIds, splitPhonemes } from '../../../src/tts/phoneme-ids.js';

export interface GoldenCase {
  text: string;
  phonemes?: string[];
  ids: number[][];
}

export interface GoldenFixture {
  generatedBy: string;
  command: string;
  espeakVoice: string;
  phonemeIdMap: Record<string, number[]>;
  espeakCases: GoldenCase[];
  textCases: GoldenCase[];
}

export function readGolden(): GoldenFixture {
  return JSON.parse(readFileSync(new URL('../../fixtures/golden-ids.json', import.meta.url), 'utf8')) as GoldenFixture;
}

/** Our ids for each golden case, through espeak-ng loaded with `options`. */
export function ourEspeakIds(fixture: GoldenFixture, options: EspeakOptions): number[][][] {
  const espeak = Espeak.get(options);
  const idMap = new Map(Object.entries(fixture.phonemeIdMap));
  return fixture.espeakCases.map((c) => espeak.phonemize(c.text, fixture.espeakVoice).map((p) => phonemesToIds(splitPhonemes(p), idMap)));
}
