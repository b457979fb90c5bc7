import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** The command that installs the local models and their runtimes (named in every error about them). */
export const MODELS_SETUP_COMMAND = 'npm run setup';

/** A local model file or runtime that is missing or not what it should be; the message names the file and the fix. */
export class LocalModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalModelFileError';
  }
}

export function modelsDir(dir: string): string {
  return isAbsolute(dir) ? dir : resolve(process.cwd(), dir);
}

/** First bytes of each format: GGUF files start with "GGUF"; whisper.cpp ggml files with 0x67676d6c little-endian ("lmgg"). */
const MAGIC = { gguf: Buffer.from('GGUF', 'ascii'), ggml: Buffer.from('lmgg', 'ascii') } as const;
export type ModelFormat = keyof typeof MAGIC;

/**
 * The path of `file` in the models folder after checking it exists, is a regular file of a plausible size and
 * starts with the format's magic bytes. Errors name the file (never the folder's absolute path) and the set-up command.
 */
export function checkedModelFile(dir: string, file: string, format: ModelFormat, variable: string): string {
  const path = join(modelsDir(dir), file);
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new LocalModelFileError(`${variable}: ${file} in MODELS_DIR is not a file; run \`${MODELS_SETUP_COMMAND}\``);
    size = stat.size;
  } catch (err) {
    if (err instanceof LocalModelFileError) throw err;
    throw new LocalModelFileError(
      `${variable}: the local model ${file} is not in MODELS_DIR; run \`${MODELS_SETUP_COMMAND}\` to install it, or set ${variable} to a model that is there`,
    );
  }
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 1024 * 1024 || !head.equals(MAGIC[format])) {
    throw new LocalModelFileError(
      `${variable}: ${file} in MODELS_DIR is not a ${format.toUpperCase()} model (corrupt or incomplete download?); delete it and run \`${MODELS_SETUP_COMMAND}\``,
    );
  }
  return path;
}

/** Where set-up installs node-llama-cpp (a private npm prefix in the models folder, not a project dependency). */
export function llamaRuntimeEntry(dir: string): string {
  return join(modelsDir(dir), 'node-llama-cpp', 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
}

export function checkedLlamaRuntime(dir: string): string {
  const entry = llamaRuntimeEntry(dir);
  try {
    statSync(entry);
  } catch {
    throw new LocalModelFileError(`the local language model runtime (node-llama-cpp) is not installed in MODELS_DIR; run \`${MODELS_SETUP_COMMAND}\``);
  }
  return entry;
}
