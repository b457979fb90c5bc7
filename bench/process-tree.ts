/** CPU time and memory of a process and all its descendants, from /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

export interface TreeUsage {
  /** Resident memory of the whole tree, MB (pages shared between its processes counted in each). */
  rssMb: number;
  /** Proportional set size of the whole tree, MB: shared pages divided among the processes sharing them. */
  pssMb: number;
  /** User + system CPU seconds the tree's live processes have used. */
  cpuSeconds: number;
  processes: number;
}

const TICKS_PER_SECOND = 100;
const PAGE_KB = 4;

interface Stat {
  pid: number;
  ppid: number;
  cpuSeconds: number;
  rssKb: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name is in parentheses and may contain spaces: fields start after the last ')'
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    const rssKb = Number(fields[21]) * PAGE_KB;
    return { pid, ppid, cpuSeconds, rssKb };
  } catch {
    return undefined;
  }
}

function pssKb(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export function treeUsage(root: number): TreeUsage {
  const stats = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((s): s is Stat => s !== undefined);
  const children = new Map<number, Stat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const rootStat = stats.find((s) => s.pid === root);
  if (!rootStat) return { rssMb: 0, pssMb: 0, cpuSeconds: 0, processes: 0 };
  const tree: Stat[] = [];
  const visit = (s: Stat) => {
    tree.push(s);
    for (const c of children.get(s.pid) ?? []) visit(c);
  };
  visit(rootStat);
  return {
    rssMb: tree.reduce((a, s) => a + s.rssKb, 0) / 1024,
    pssMb: tree.reduce((a, s) => a + pssKb(s.pid), 0) / 1024,
    cpuSeconds: tree.reduce((a, s) => a + s.cpuSeconds, 0),
    processes: tree.length,
  };
}
