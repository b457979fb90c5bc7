import { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { ProviderRole } from '../config/providers.js';
import { dirname } from 'node:path';
import { checkedLlamaRuntime, checkedModelFile, checkedMoonshineModel } from './model-files.js';

const common = {
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  modelPath: z.string().min(1),
  /** Model id reported to clients (the file name without its extension). */
  name: z.string().min(1),
  threads: z.number().int().min(1).max(64),
  /** Scheduling niceness the server process gives itself before loading its model. */
  nice: z.number().int().min(0).max(19),
  maxQueue: z.number().int().min(1).max(1000),
  logLevel: z.string(),
  logFormat: z.enum(['json', 'pretty']),
};

/** What one model server process needs; handed from the supervisor to the child (and checked there). */
export const serverSettings = z.discriminatedUnion('role', [
  z.object({
    role: z.literal('llm'),
    ...common,
    runtimeEntry: z.string().min(1),
    parallel: z.number().int().min(1).max(16),
    contextTokens: z.number().int().min(512).max(32_768),
    maxTokens: z.number().int().min(16).max(4096),
  }),
  z.object({
    role: z.literal('stt'),
    ...common,
    /** whisper: a whisper.cpp ggml file; moonshine: a Moonshine model folder (modelPath is the folder). */
    engine: z.enum(['whisper', 'moonshine']),
    maxAudioSeconds: z.number().int().min(1).max(600),
  }),
]);
export type ServerSettings = z.infer<typeof serverSettings>;

export type LocalModelsConfig = Pick<
  Config,
  | 'LOG_LEVEL'
  | 'LOG_FORMAT'
  | 'MODELS_DIR'
  | 'LOCAL_LLM_MODEL'
  | 'LOCAL_STT_MODEL'
  | 'LOCAL_MODELS_HOST'
  | 'LOCAL_LLM_PORT'
  | 'LOCAL_STT_PORT'
  | 'LOCAL_LLM_THREADS'
  | 'LOCAL_LLM_NICE'
  | 'LOCAL_LLM_PARALLEL'
  | 'LOCAL_LLM_CONTEXT_TOKENS'
  | 'LOCAL_LLM_MAX_TOKENS'
  | 'LOCAL_STT_THREADS'
  | 'LOCAL_STT_MAX_AUDIO_SECONDS'
  | 'LOCAL_MODELS_MAX_QUEUE'
>;

/** A whisper.cpp ggml file (`ggml-tiny.en.bin`); any other LOCAL_STT_MODEL names a Moonshine model folder. */
export function isWhisperModel(name: string): boolean {
  return /\.bin$/i.test(name);
}

/** The model id clients see: the file name without its format extension. */
export function localModelName(file: string): string {
  return file.replace(/\.(gguf|bin)$/i, '');
}

/**
 * The settings of the server for `role`, after checking its files are installed and well-formed
 * (throws LocalModelFileError naming the file and the set-up command).
 */
export function serverSettingsFor(role: ProviderRole, config: LocalModelsConfig): ServerSettings {
  const base = { host: config.LOCAL_MODELS_HOST, maxQueue: config.LOCAL_MODELS_MAX_QUEUE, logLevel: config.LOG_LEVEL, logFormat: config.LOG_FORMAT };
  if (role === 'llm') {
    return {
      ...base,
      role,
      port: config.LOCAL_LLM_PORT,
      modelPath: checkedModelFile(config.MODELS_DIR, config.LOCAL_LLM_MODEL, 'gguf', 'LOCAL_LLM_MODEL'),
      runtimeEntry: checkedLlamaRuntime(config.MODELS_DIR),
      name: localModelName(config.LOCAL_LLM_MODEL),
      threads: config.LOCAL_LLM_THREADS,
      nice: config.LOCAL_LLM_NICE,
      parallel: config.LOCAL_LLM_PARALLEL,
      contextTokens: config.LOCAL_LLM_CONTEXT_TOKENS,
      maxTokens: config.LOCAL_LLM_MAX_TOKENS,
    };
  }
  const whisper = isWhisperModel(config.LOCAL_STT_MODEL);
  return {
    ...base,
    role,
    port: config.LOCAL_STT_PORT,
    engine: whisper ? 'whisper' : 'moonshine',
    modelPath: whisper
      ? checkedModelFile(config.MODELS_DIR, config.LOCAL_STT_MODEL, 'ggml', 'LOCAL_STT_MODEL')
      : dirname(checkedMoonshineModel(config.MODELS_DIR, config.LOCAL_STT_MODEL, 'LOCAL_STT_MODEL').encoder),
    name: localModelName(config.LOCAL_STT_MODEL),
    // one thread is faster than two for Moonshine on short clips (no barrier waits); whisper.cpp's encoder needs both
    threads: config.LOCAL_STT_THREADS || (whisper ? 2 : 1),
    // the transcript is always on the critical path of a turn
    nice: 0,
    maxAudioSeconds: config.LOCAL_STT_MAX_AUDIO_SECONDS,
  };
}

/** The origin (`http://host:port`) of a local model server, as clients on this host reach it. */
export function localOrigin(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${reachable}:${port}`;
}
