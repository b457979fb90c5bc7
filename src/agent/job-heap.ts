/** The V8 flag read at start for the size of each of the young generation's two semi-spaces. */
const SEMI_SPACE_FLAG = '--max-semi-space-size';
/** The V8 flag read at start for how far the old generation may grow past what survived the last full collection. */
const HEAP_GROWING_FLAG = '--heap-growing-percent';

export interface JobHeapLimits {
  /** Young-generation semi-space in MB; 0 = Node's default (up to 16). */
  semiSpaceMb: number;
  /** Old-generation growth past the live heap before the next full collection, in percent; 0 = V8's own (about 2x). */
  heapGrowingPercent: number;
}

/**
 * Caps the heap of the job processes (room hosts) forked from now on.
 *
 * Job processes are forked with this process's `execArgv`, so a V8 flag added here reaches
 * only the children started afterwards; a flag the operator already set is left alone.
 * - A small young generation keeps an idle job process about 40 MB smaller (Node's semi-space grows to 16 MB),
 *   for more (and shorter) minor collections.
 * - With small semi-spaces, the room's audio frames are promoted to the old generation, which V8 lets grow to about
 *   twice its live size (50 MB live here) before a full collection: a conversation's process grew from 200 to 270 MB
 *   between collections. A 20 % margin holds it near 220 (measured), for a full collection every few seconds.
 */
export function limitJobHeap(limits: JobHeapLimits): void {
  setFlag(SEMI_SPACE_FLAG, limits.semiSpaceMb);
  setFlag(HEAP_GROWING_FLAG, limits.heapGrowingPercent);
}

function setFlag(flag: string, value: number): void {
  if (value <= 0 || process.execArgv.some((arg) => arg.startsWith(flag))) return;
  process.execArgv.push(`${flag}=${value}`);
}
