import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { AssistantsFileError } from '../../src/assistants/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { type AssistantsProvider, createWebComponent, type WebComponent } from '../../src/web/index.js';

/** A scratch folder with a `voices/` folder holding stand-ins for the named voices (the loader only checks that they exist). */
export async function scratch(voices: readonly string[] = ['en_US-joe-medium']): Promise<{ dir: string; voicesDir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vo-assistants-'));
  const voicesDir = join(dir, 'voices');
  await mkdir(voicesDir);
  for (const voice of voices) {
    await writeFile(join(voicesDir, `${voice}.onnx`), 'stand-in');
    await writeFile(join(voicesDir, `${voice}.onnx.json`), '{}');
  }
  return { dir, voicesDir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function put(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

/** A valid two-assistant file, YAML. */
export const TWO_ASSISTANTS_YAML = `profiles:
  local: { provider: local }
  openai-mini: { provider: openai, model: gpt-4.1-mini, api_key_env: OPENAI_API_KEY, fallback: [local] }
  my-vllm:
    provider: openai-compatible
    base_url: http://127.0.0.1:8000/v1
    model: qwen
    api_key_env: VLLM_KEY
    fallback: [openai-mini, local]
assistants:
  - name: receptionist
    instructions: You are a receptionist.
    greeting: Hello, reception here.
    voice: en_US-joe-medium
    llm: my-vllm
    stt: local
    max_sessions: 4
  - name: support
    instructions_file: prompts/support.md
    greeting: Hi, support here.
    voice: en_US-joe-medium
    llm: openai-mini
    stt: local
`;

/** Awaits a rejection with AssistantsFileError and returns its message. */
export async function fileError(promise: Promise<unknown>): Promise<AssistantsFileError> {
  const error = await promise.then(
    () => assert.fail('expected an AssistantsFileError'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof AssistantsFileError, `expected an AssistantsFileError, got ${String(error)}`);
  return error;
}

/** A real web component on an ephemeral loopback port with `env` on top of the defaults, dispatching what `assistants` answers. */
export async function startWebWithAssistants(env: Record<string, string>, assistants?: AssistantsProvider): Promise<{ base: string; web: WebComponent }> {
  // An empty folder for the .env layers, so a developer's .env cannot change what the test sees.
  const envDir = await mkdtemp(join(tmpdir(), 'vo-web-assistants-'));
  const { config } = loadConfig({ dir: envDir, env: { WEB_HOST: '127.0.0.1', WEB_PORT: '0', ...env } });
  await rm(envDir, { recursive: true, force: true });
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const web = createWebComponent({
    config,
    logger: createLogger(config, sink),
    metrics: createMetricsRegistry('agent'),
    ...(assistants ? { assistants } : {}),
  });
  await web.start();
  return { web, base: `http://127.0.0.1:${web.address()?.port}` };
}
