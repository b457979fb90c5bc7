import { dirname, extname } from 'node:path';
import { parseDocument } from 'yaml';
import { AssistantsFileError, type AssistantsIssue, formatPath, issuesFromZod, type LocatedIssue, uniqueInOrder } from './errors.js';
import { checkFiles, MAX_ASSISTANTS_FILE_BYTES, readBounded } from './files.js';
import { locate } from './paths.js';
import { resolveSet } from './resolve.js';
import { assistantsFileSchema } from './schema.js';
import type { AssistantsSet } from './types.js';

export interface LoadAssistantsOptions {
  /** VOICES_DIR: where each assistant's voice must be installed (relative paths start at `cwd`). */
  voicesDir: string;
  /** For `~` (HOME) and to warn about key variables that are not set; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where a relative VOICES_DIR and file path start; default the working directory. */
  cwd?: string;
  /** Where a relative file path starts when not at `cwd` (the CLI: the folder `npm run` was called from). */
  fileBase?: string;
  /** The version the set gets; default 1. */
  version?: number;
}

const FORMATS = { '.json': 'json', '.yaml': 'yaml', '.yml': 'yaml' } as const;

/**
 * Reads, validates and resolves an assistants file (JSON or YAML, by extension). Throws one
 * AssistantsFileError listing every problem, each with the file as given (or `~/...`), the path
 * inside it, the value and what is accepted.
 */
export async function loadAssistantsFile(path: string, options: LoadAssistantsOptions): Promise<AssistantsSet> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = locate(path, options.fileBase ?? cwd, env);
  const fail = (message: string): never => {
    throw new AssistantsFileError(file.shown, [{ path: '', message }]);
  };

  const format = FORMATS[extname(file.absolute).toLowerCase() as keyof typeof FORMATS];
  if (!format) fail('expected a file ending in .yaml, .yml or .json');
  const read = await readBounded(file.absolute, MAX_ASSISTANTS_FILE_BYTES);
  if (!read.ok) return fail(read.problem);
  const parsed = format === 'json' ? parseJson(read.text) : parseYaml(read.text);
  if (!parsed.ok) throw new AssistantsFileError(file.shown, parsed.issues);

  const doc = parsed.value;
  const validated = assistantsFileSchema.safeParse(doc);
  const files = await checkFiles({ doc, fileDir: dirname(file.absolute), voicesDir: locate(options.voicesDir, cwd, env), env });
  const issues = [...(validated.success ? [] : issuesFromZod(validated.error, doc)), ...files.issues, ...prototypeKeys(doc)];
  if (!validated.success || issues.length > 0) throw new AssistantsFileError(file.shown, uniqueInOrder(issues, doc));

  return resolveSet({ doc: validated.data, instructionsFromFiles: files.instructionsFromFiles, file: file.shown, version: options.version ?? 1, env });
}

/** `__proto__` keys, which zod's records skip without a word. */
function prototypeKeys(node: unknown, path: Array<string | number> = []): LocatedIssue[] {
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, child]) => {
    const at = [...path, Array.isArray(node) ? Number(key) : key];
    return key === '__proto__' ? [{ path: at, issue: { path: formatPath(at), message: 'a reserved name: use another one' } }] : prototypeKeys(child, at);
  });
}

type Parsed = { ok: true; value: unknown } | { ok: false; issues: AssistantsIssue[] };

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, issues: [{ path: '', message: `not valid JSON: ${(error as Error).message}` }] };
  }
}

function parseYaml(text: string): Parsed {
  // Aliases are bounded so a small file cannot expand into a huge document.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.slice(0, 10).map((error) => {
        const at = error.linePos?.[0];
        const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return { path: '', message: `not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ''}: ${reason}` };
      }),
    };
  }
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (error) {
    return { ok: false, issues: [{ path: '', message: `not a usable YAML document: ${(error as Error).message}` }] };
  }
}
