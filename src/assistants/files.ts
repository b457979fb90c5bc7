import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type IssuePath, issueAt, type LocatedIssue } from './errors.js';
import { locate } from './paths.js';

/** Largest assistants file read. */
export const MAX_ASSISTANTS_FILE_BYTES = 1024 * 1024;
/** Largest instructions_file read. */
export const MAX_INSTRUCTIONS_FILE_BYTES = 64 * 1024;

export type ReadOutcome = { ok: true; text: string } | { ok: false; problem: string };

/** Reads a regular file of at most `maxBytes` as UTF-8, or says why not (without its absolute path). */
export async function readBounded(absolute: string, maxBytes: number): Promise<ReadOutcome> {
  try {
    const info = await stat(absolute);
    if (!info.isFile()) return { ok: false, problem: 'not a regular file' };
    if (info.size > maxBytes) return { ok: false, problem: `${info.size} bytes, larger than the ${maxBytes} bytes accepted` };
    const bytes = await readFile(absolute);
    if (bytes.length > maxBytes) return { ok: false, problem: `larger than the ${maxBytes} bytes accepted` };
    return { ok: true, text: bytes.toString('utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, problem: 'not found' };
    if (code === 'EACCES' || code === 'EPERM') return { ok: false, problem: 'not readable (permission denied)' };
    return { ok: false, problem: `cannot be read (${code ?? 'unknown error'})` };
  }
}

export interface FileCheckInput {
  /** The parsed document, possibly invalid elsewhere: read defensively. */
  doc: unknown;
  /** Folder of the assistants file: instructions_file paths start there. */
  fileDir: string;
  voicesDir: { absolute: string; shown: string };
  env: NodeJS.ProcessEnv;
}

export interface FileCheckResult {
  issues: LocatedIssue[];
  instructionsFromFiles: Map<number, string>;
}

const VOICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

/** What needs the disk: each assistant's voice is installed, each instructions_file readable and not empty. */
export async function checkFiles(input: FileCheckInput): Promise<FileCheckResult> {
  const result: FileCheckResult = { issues: [], instructionsFromFiles: new Map() };
  const root = input.doc as { assistants?: unknown } | null;
  const assistants = typeof root === 'object' && root !== null && Array.isArray(root.assistants) ? (root.assistants as unknown[]) : [];
  let installed: Promise<string[] | undefined> | undefined;
  const add = (path: IssuePath, accepted: string) => result.issues.push({ path, issue: issueAt(input.doc, path, accepted) });

  for (const [index, item] of assistants.entries()) {
    if (typeof item !== 'object' || item === null) continue;
    const { voice, instructions_file: instructionsFile } = item as Record<string, unknown>;
    if (typeof voice === 'string' && VOICE_NAME.test(voice) && !voice.includes('..') && !(await voiceInstalled(input.voicesDir.absolute, voice))) {
      installed ??= installedVoices(input.voicesDir.absolute);
      add(['assistants', index, 'voice'], missingVoice(voice, input.voicesDir.shown, await installed));
    }
    if (typeof instructionsFile === 'string' && instructionsFile.length > 0) {
      const located = locate(instructionsFile, input.fileDir, input.env);
      const read = await readBounded(located.absolute, MAX_INSTRUCTIONS_FILE_BYTES);
      const path = ['assistants', index, 'instructions_file'];
      if (!read.ok) add(path, `a readable file of instructions (relative paths start at the assistants file's folder): ${located.shown} is ${read.problem}`);
      else if (read.text.trim() === '') add(path, `a file holding the instructions: ${located.shown} is empty`);
      else result.instructionsFromFiles.set(index, read.text.trim());
    }
  }
  return result;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function voiceInstalled(voicesDir: string, voice: string): Promise<boolean> {
  return (await isFile(join(voicesDir, `${voice}.onnx`))) && (await isFile(join(voicesDir, `${voice}.onnx.json`)));
}

/** Installed voice names, or undefined when the folder cannot be listed. */
async function installedVoices(voicesDir: string): Promise<string[] | undefined> {
  try {
    const names = new Set(await readdir(voicesDir));
    return [...names]
      .filter((n) => n.endsWith('.onnx') && names.has(`${n}.json`))
      .map((n) => n.slice(0, -'.onnx'.length))
      .sort();
  } catch {
    return undefined;
  }
}

function missingVoice(voice: string, shownDir: string, installed: string[] | undefined): string {
  const where = `VOICES_DIR (${shownDir})`;
  const have =
    installed === undefined
      ? `${where} cannot be listed`
      : installed.length === 0
        ? `none is installed in ${where}`
        : `installed: ${installed.slice(0, 10).join(', ')}${installed.length > 10 ? ', …' : ''}`;
  return `an installed Piper voice (${voice}.onnx and ${voice}.onnx.json in ${where}; \`npm run voices -- download ${voice}\` fetches a public one); ${have}`;
}
