import { EventEmitter } from 'node:events';
import { type FSWatcher, watch } from 'node:fs';
import { dirname, join } from 'node:path';
import { AssistantsFileError } from './errors.js';
import { type LoadAssistantsOptions, loadAssistantsFile } from './load.js';
import { locate } from './paths.js';
import type { AssistantsSet } from './types.js';

export interface AssistantsSourceOptions extends Omit<LoadAssistantsOptions, 'version'> {
  /** ASSISTANTS_FILE as configured (`~` and relative paths resolved like the loader does). */
  file: string;
  /** Reload when the file (or an instructions_file) changes; default true. */
  watch?: boolean;
  /** Reload on SIGHUP; default false (only the process's owner should take the signal). */
  sighup?: boolean;
  /** Quiet time after the last change before reloading; default 200 ms (editors write in several steps). */
  debounceMs?: number;
}

export type ReloadOutcome = { result: 'changed' | 'unchanged'; set: AssistantsSet } | { result: 'invalid'; error: AssistantsFileError };

export interface AssistantsSourceEvents {
  /** A valid new version: it applies to new conversations. */
  changed: [set: AssistantsSet];
  /** An edit that cannot be used: the running version stays. */
  invalid: [error: AssistantsFileError];
  /** Watching a folder failed; reloads still happen on SIGHUP or reload(). */
  watchError: [error: Error];
}

/**
 * The assistants file, kept current: loads it at start, then reloads when it changes (watched)
 * or on SIGHUP. A valid edit becomes the next version (`changed`); an invalid one is refused
 * (`invalid`) and the running version stays. The caller logs both.
 */
export class AssistantsSource extends EventEmitter<AssistantsSourceEvents> {
  private set: AssistantsSet | undefined;
  private readonly watchers = new Map<string, FSWatcher>();
  /** Absolute paths whose change triggers a reload: the file and the instructions files it names. */
  private watched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReloadOutcome> | undefined;
  private again = false;
  private stopped = false;
  private readonly onSighup = () => void this.reload();

  constructor(private readonly options: AssistantsSourceOptions) {
    super();
  }

  /** Loads the file (throws AssistantsFileError when it is invalid), then starts watching. */
  async start(): Promise<AssistantsSet> {
    this.stopped = false;
    this.set = await loadAssistantsFile(this.options.file, { ...this.options, version: 1 });
    if (this.options.watch !== false) this.watchFiles();
    if (this.options.sighup === true && !process.listeners('SIGHUP').includes(this.onSighup)) process.on('SIGHUP', this.onSighup);
    return this.set;
  }

  /** The version in force. */
  current(): AssistantsSet {
    if (!this.set) throw new Error('AssistantsSource.current() before start()');
    return this.set;
  }

  /** Reads the file again. Reloads never overlap: one asked for meanwhile runs once the current one ends. */
  reload(): Promise<ReloadOutcome> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = this.load().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.reload();
      }
    });
    this.running = run;
    return run;
  }

  /** Stops watching and listening for SIGHUP; current() keeps answering. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    process.off('SIGHUP', this.onSighup);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private async load(): Promise<ReloadOutcome> {
    const previous = this.current();
    let next: AssistantsSet;
    try {
      next = await loadAssistantsFile(this.options.file, { ...this.options, version: previous.version + 1 });
    } catch (thrown) {
      // Anything else would be a bug; it still must not end the process or replace the running version.
      const error =
        thrown instanceof AssistantsFileError ? thrown : new AssistantsFileError(previous.file, [{ path: '', message: `cannot be loaded: ${String(thrown)}` }]);
      if (!this.stopped) this.emit('invalid', error);
      return { result: 'invalid', error };
    }
    // Editors and mounts fire events without a change; those are not a new version.
    if (sameContent(previous, next) || this.stopped) return { result: 'unchanged', set: previous };
    this.set = next;
    if (this.options.watch !== false) this.watchFiles();
    this.emit('changed', next);
    return { result: 'changed', set: next };
  }

  /**
   * Watches the folders, not the files: editors that save by writing a new file and renaming it
   * over the old one replace the watched inode, and Kubernetes swaps a ConfigMap's files by
   * renaming its `..data` link.
   */
  private watchFiles(): void {
    const env = this.options.env ?? process.env;
    const cwd = this.options.cwd ?? process.cwd();
    const file = locate(this.options.file, this.options.fileBase ?? cwd, env).absolute;
    this.watched = new Set([file, ...this.instructionFiles(dirname(file), env)]);
    const folders = new Set([...this.watched].map((path) => dirname(path)));
    for (const [folder, watcher] of this.watchers) {
      if (folders.has(folder)) continue;
      watcher.close();
      this.watchers.delete(folder);
    }
    for (const folder of folders) {
      if (this.watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, { persistent: false }, (_event, name) => this.onFolderEvent(folder, name));
        watcher.on('error', (error) => this.emit('watchError', error));
        this.watchers.set(folder, watcher);
      } catch (error) {
        this.emit('watchError', error as Error);
      }
    }
  }

  private instructionFiles(fileDir: string, env: NodeJS.ProcessEnv): string[] {
    return this.set?.assistants.flatMap((a) => (a.instructionsFile ? [locate(a.instructionsFile, fileDir, env).absolute] : [])) ?? [];
  }

  private onFolderEvent(folder: string, name: string | Buffer | null): void {
    const entry = name === null ? undefined : name.toString();
    // Kubernetes renames `..data` (and `..2024_...` folders) when a mounted ConfigMap changes.
    const relevant = entry === undefined || entry.startsWith('..') || this.watched.has(join(folder, entry));
    if (!relevant || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.options.debounceMs ?? 200);
    this.timer.unref();
  }
}

function sameContent(a: AssistantsSet, b: AssistantsSet): boolean {
  const content = (set: AssistantsSet) => JSON.stringify({ assistants: set.assistants, profiles: set.profiles });
  return content(a) === content(b);
}
