/** The flag V8 reads at start for the size of each of the young generation's two semi-spaces. */
const SEMI_SPACE_FLAG = '--max-semi-space-size';

/**
 * Caps the young generation of the job processes (one per room) the framework forks from now on.
 *
 * agents-js forks job processes with this process's `execArgv`, so a V8 flag added here reaches
 * only the children started afterwards. Node's default semi-space grows to 16 MB; 2 MB keeps an idle
 * job process about 40 MB smaller, for more (and shorter) minor collections. 0 = Node's default.
 */
export function limitJobYoungGeneration(semiSpaceMb: number): void {
  if (semiSpaceMb <= 0 || process.execArgv.some((arg) => arg.startsWith(SEMI_SPACE_FLAG))) return;
  process.execArgv.push(`${SEMI_SPACE_FLAG}=${semiSpaceMb}`);
}
