import type { VoiceCatalog } from '../speech/voices.js';

export interface SpeechTarget {
  voice: string;
  speaker?: string;
}

/**
 * The voice a Wyoming `voice` object asks for: `name` (an installed voice), else `language` (the
 * default voice if it speaks it, else the first that does), else TTS_VOICE; `speaker` for
 * multi-speaker voices only.
 */
export async function resolveVoice(voice: Record<string, unknown> | undefined, catalog: VoiceCatalog): Promise<SpeechTarget | { error: string }> {
  const name = typeof voice?.['name'] === 'string' ? voice['name'] : undefined;
  const language = typeof voice?.['language'] === 'string' ? voice['language'] : undefined;
  const speaker = voice?.['speaker'];
  const found = name ? await catalog.find(name) : language ? await catalog.forLanguage(language) : await catalog.find(catalog.defaultVoice);
  if (!found) {
    const installed = (await catalog.list()).map((v) => v.name).join(', ') || 'none';
    const asked = name
      ? `voice ${JSON.stringify(name.slice(0, 64))}`
      : language
        ? `a voice for language ${JSON.stringify(language.slice(0, 16))}`
        : 'the default voice';
    return { error: `${asked} is not installed; installed: ${installed}` };
  }
  const named = typeof speaker === 'string' || typeof speaker === 'number' ? String(speaker) : undefined;
  return { voice: found.name, ...(named !== undefined && found.speakers.length > 0 ? { speaker: named } : {}) };
}

/** Ends of sentences: terminal punctuation (and closing quotes or brackets) followed by white space, or a line break. */
const SENTENCE_END = /[.!?\u2026\u3002\uff01\uff1f]+["'\u201d\u2019)\]]*\s+|\n+/g;

/** Splits streamed text into the whole sentences it holds so far and the unfinished rest. */
export function takeSentences(text: string): { complete: string; rest: string } {
  let end = 0;
  for (const match of text.matchAll(SENTENCE_END)) end = (match.index ?? 0) + match[0].length;
  return { complete: text.slice(0, end), rest: text.slice(end) };
}
