/** Phonemes -> model ids, exactly as piper-phonemize / piper-tts build them. */

export const BOS = '^';
export const EOS = '$';
export const PAD = '_';

/**
 * Splits a phoneme string into symbols: NFD code points, with the voice's multi-character
 * clusters (e.g. "aɪ") merged by longest match.
 */
export function splitPhonemes(phonemes: string, clusters: readonly (readonly string[])[] = []): string[] {
  const points = Array.from(phonemes.normalize('NFD'));
  if (clusters.length === 0) return points;
  const known = new Set(clusters.map((c) => c.join('\u0000')));
  const maxLen = Math.max(...clusters.map((c) => c.length));
  const out: string[] = [];
  for (let i = 0; i < points.length; ) {
    let matched = 0;
    for (let n = Math.min(maxLen, points.length - i); n > 1; n--) {
      if (known.has(points.slice(i, i + n).join('\u0000'))) {
        matched = n;
        break;
      }
    }
    if (matched > 0) {
      out.push(points.slice(i, i + matched).join(''));
      i += matched;
    } else {
      out.push(points[i]!);
      i++;
    }
  }
  return out;
}

/**
 * `^ _ (phoneme _)* $`. Symbols missing from the map are skipped (the reference logs and skips
 * them); `onMissing` reports them.
 */
export function phonemesToIds(symbols: readonly string[], idMap: ReadonlyMap<string, readonly number[]>, onMissing?: (symbol: string) => void): number[] {
  const pad = idMap.get(PAD) ?? [];
  const ids: number[] = [...(idMap.get(BOS) ?? []), ...pad];
  for (const symbol of symbols) {
    const mapped = idMap.get(symbol);
    if (!mapped) {
      onMissing?.(symbol);
      continue;
    }
    ids.push(...mapped, ...pad);
  }
  ids.push(...(idMap.get(EOS) ?? []));
  return ids;
}
