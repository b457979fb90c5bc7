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

/** The files of a Moonshine model folder as sherpa-onnx loads them (see scripts/setup/moonshine.sh). */
export interface MoonshineModelFiles {
  encoder: string;
  mergedDecoder: string;
  tokens: string;
}

/** ONNX Runtime format files carry this identifier at byte 4 (a FlatBuffers file identifier). */
const ORT_IDENTIFIER = Buffer.from('ORTM', 'ascii');

/**
 * The files of the Moonshine model folder `name` in the models folder, after checking each exists and the two
 * models are ONNX Runtime format files. Errors name the folder (never MODELS_DIR's absolute path) and the set-up command.
 */
export function checkedMoonshineModel(dir: string, name: string, variable: string): MoonshineModelFiles {
  const folder = join(modelsDir(dir), name);
  const files = { encoder: 'encoder_model.ort', mergedDecoder: 'decoder_model_merged.ort', tokens: 'tokens.txt' } as const;
  const missing = Object.values(files).filter((file) => !isNonEmptyFile(join(folder, file)));
  if (missing.length === 3) {
    throw new LocalModelFileError(
      `${variable}: the local model ${name} is not in MODELS_DIR; run \`${MODELS_SETUP_COMMAND}\` to install it, or set ${variable} to a model that is there`,
    );
  }
  const broken = missing.length > 0 ? missing : [files.encoder, files.mergedDecoder].filter((file) => !startsWith(join(folder, file), 4, ORT_IDENTIFIER));
  if (broken.length > 0) {
    throw new LocalModelFileError(
      `${variable}: ${name} in MODELS_DIR is incomplete or damaged (${broken.join(', ')}); delete the folder and run \`${MODELS_SETUP_COMMAND}\``,
    );
  }
  return { encoder: join(folder, files.encoder), mergedDecoder: join(folder, files.mergedDecoder), tokens: join(folder, files.tokens) };
}

function isNonEmptyFile(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && stat.size > 0;
  } catch {
    return false;
  }
}

function startsWith(path: string, offset: number, bytes: Buffer): boolean {
  const head = Buffer.alloc(bytes.length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
  return head.equals(bytes);
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
