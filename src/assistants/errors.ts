import type { z } from 'zod';
import { maskUrlCredentials } from '../config/mask.js';
import { CREDENTIAL_FIELDS } from './schema.js';

export type IssuePath = readonly PropertyKey[];

/** One problem in an assistants file: where (`assistants[1].llm`), the value as it may be shown, and what is wrong. */
export interface AssistantsIssue {
  /** Path inside the file; empty for the file as a whole. */
  readonly path: string;
  /** The offending value, shortened and masked; absent when missing, hidden or not a scalar. */
  readonly value?: string;
  readonly message: string;
}

/** An assistants file that cannot be used: every problem found, each naming the file, the path and the value. */
export class AssistantsFileError extends Error {
  constructor(
    /** The file as it may be shown (as given, or `~/...`). */
    readonly file: string,
    readonly issues: readonly AssistantsIssue[],
  ) {
    super(`invalid assistants file ${file}:\n${issues.map((issue) => `  ${formatIssue(issue)}`).join('\n')}`);
    this.name = 'AssistantsFileError';
  }
}

export function formatIssue(issue: AssistantsIssue): string {
  const where = issue.path === '' ? '(the file)' : issue.path;
  return `${where}${issue.value !== undefined ? ` = ${issue.value}` : ''}: ${issue.message}`;
}

/** `['assistants', 1, 'llm']` → `assistants[1].llm`. */
export function formatPath(path: IssuePath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(segment))) out += `${out === '' ? '' : '.'}${String(segment)}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

const MAX_SHOWN = 60;
const API_KEY_ENV_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** What is at `path` in the parsed document, if anything. */
function lookup(doc: unknown, path: IssuePath): { present: boolean; value?: unknown } {
  let node = doc;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return { present: false };
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return { present: true, value: node };
}

/** A value as it may appear in a message: scalars only, shortened, URL credentials masked, never what may be a key. */
function showValue(path: IssuePath, value: unknown): string | undefined {
  const field = String(path[path.length - 1] ?? '');
  if ((CREDENTIAL_FIELDS as readonly string[]).includes(field)) return undefined;
  if (field === 'api_key_env' && !(typeof value === 'string' && API_KEY_ENV_PATTERN.test(value))) return '(not shown: it may be a key)';
  if (typeof value === 'string') {
    const masked = maskUrlCredentials(value);
    return JSON.stringify(masked.length > MAX_SHOWN ? `${masked.slice(0, MAX_SHOWN - 1)}…` : masked);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return '(a list)';
  if (typeof value === 'object') return '(a mapping)';
  return undefined;
}

/** An issue at `path`: the message says what is accepted; the document says whether the value is missing and what it was. */
export function issueAt(doc: unknown, path: IssuePath, accepted: string, options: { sentence?: boolean; hideValue?: boolean } = {}): AssistantsIssue {
  const found = lookup(doc, path);
  const shownPath = formatPath(path);
  if (options.sentence) {
    const value = options.hideValue || !found.present ? undefined : showValue(path, found.value);
    return value === undefined ? { path: shownPath, message: accepted } : { path: shownPath, value, message: accepted };
  }
  if (!found.present) return { path: shownPath, message: `missing; expected ${accepted}` };
  const value = options.hideValue ? undefined : showValue(path, found.value);
  return value === undefined ? { path: shownPath, message: `expected ${accepted}` } : { path: shownPath, value, message: `expected ${accepted}` };
}

export interface LocatedIssue {
  path: IssuePath;
  issue: AssistantsIssue;
}

/** The schema's issues as file issues (unordered: see uniqueInOrder). */
export function issuesFromZod(error: z.ZodError, doc: unknown): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      // Unknown fields may be misspelt credentials: their values are never shown.
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        issues.push({ path, issue: issueAt(doc, path, issue.message, { sentence: true, hideValue: true }) });
      }
    } else if (issue.code === 'invalid_key') {
      const path = [...issue.path];
      const reasons = [...new Set(issue.issues.map((i) => i.message))].join('; ');
      issues.push({ path, issue: { path: formatPath(path), message: `expected ${reasons}` } });
    } else {
      const field = String(issue.path[issue.path.length - 1] ?? '');
      const sentence =
        (issue.code === 'custom' && (issue.params as { sentence?: boolean } | undefined)?.sentence === true) || CREDENTIAL_FIELDS.some((f) => f === field);
      issues.push({ path: issue.path, issue: issueAt(doc, issue.path, issue.message, { sentence }) });
    }
  }
  return issues;
}

/** Sorts by position in the document (fields in the order they are written, list items by index) and drops repeats. */
export function uniqueInOrder(issues: readonly LocatedIssue[], doc: unknown): AssistantsIssue[] {
  const compare = (a: IssuePath, b: IssuePath): number => {
    let node = doc;
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x !== y) return position(node, x) - position(node, y);
      node = typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[x] : undefined;
    }
    return a.length - b.length;
  };
  const seen = new Set<string>();
  return [...issues]
    .sort((a, b) => compare(a.path, b.path))
    .flatMap(({ issue }) => {
      const key = formatIssue(issue);
      if (seen.has(key)) return [];
      seen.add(key);
      return [issue];
    });
}

/** Where `segment` is written in `node`; missing fields come after the written ones. */
function position(node: unknown, segment: PropertyKey): number {
  if (typeof segment === 'number') return segment;
  const index = typeof node === 'object' && node !== null ? Object.keys(node).indexOf(String(segment)) : -1;
  return index === -1 ? Number.MAX_SAFE_INTEGER : index;
}
