import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseDotenv } from 'dotenv';
import { isLoopbackHost } from './fields.js';
import { localModelsNeeded } from './providers.js';
import { displayValue } from './mask.js';
import { type Config, type VarName, VARIABLES } from './schema.js';

/** The layers, lowest precedence first. */
export const FILE_LAYERS = ['.env.defaults', '.env', '.env.local'] as const;
export type Layer = (typeof FILE_LAYERS)[number] | 'environment' | 'built-in default' | 'unset';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ConfigIssue {
  variable: string;
  /** The value as it may be shown: secrets and credentials inside URLs are masked. */
  value: string | undefined;
  expected: string;
  layer: Layer;
}

export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

function isSecret(name: string): boolean {
  return (VARIABLES as Record<string, { secret?: boolean }>)[name]?.secret === true;
}

export function formatIssue(issue: ConfigIssue): string {
  const shown = issue.value === undefined ? '(unset)' : isSecret(issue.variable) ? issue.value : JSON.stringify(issue.value);
  return `invalid configuration: ${issue.variable}=${shown} (from ${issue.layer}); expected ${issue.expected}`;
}

export interface LoadedConfig {
  config: Config;
  /** Where each variable's effective value came from. */
  provenance: Readonly<Record<VarName, Layer>>;
  /** The raw strings, for display (secrets still unmasked: mask before printing). */
  raw: Readonly<Record<VarName, string | undefined>>;
}

export interface LoadOptions {
  /** Folder holding the .env files; defaults to the project root. */
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

/** Reads the layers, validates everything with the schema and returns a frozen, typed config. Throws ConfigError. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const dir = options.dir ?? PROJECT_ROOT;
  const env = options.env ?? process.env;
  const layers: Array<[Layer, Record<string, string>]> = FILE_LAYERS.map((name) => {
    const file = join(dir, name);
    return [name, existsSync(file) ? parseDotenv(readFileSync(file)) : {}];
  });
  layers.push(['environment', env as Record<string, string>]);

  const raw = {} as Record<VarName, string | undefined>;
  const provenance = {} as Record<VarName, Layer>;
  const values = {} as Record<string, unknown>;
  const issues: ConfigIssue[] = [];

  for (const name of Object.keys(VARIABLES) as VarName[]) {
    const spec = VARIABLES[name];
    let value: string | undefined;
    let layer: Layer = 'unset';
    for (const [layerName, vars] of layers) {
      if (vars[name] !== undefined) {
        value = vars[name];
        layer = layerName;
      }
    }
    if (value === undefined && 'default' in spec) {
      value = spec.default;
      layer = 'built-in default';
    }
    raw[name] = value;
    provenance[name] = layer;
    const result = spec.schema.safeParse(value);
    if (result.success) {
      values[name] = result.data;
    } else {
      const expected = [...new Set(result.error.issues.map((i) => i.message))].join('; ');
      issues.push({ variable: name, value: shownValue(name, value), expected, layer });
    }
  }
  // Rules across variables only make sense once each variable is valid on its own.
  if (issues.length === 0) {
    for (const { variable, expected } of validateCombination(values as Config)) {
      issues.push({ variable, value: shownValue(variable, raw[variable]), expected, layer: provenance[variable] });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    config: Object.freeze(values) as Config,
    provenance: Object.freeze(provenance),
    raw: Object.freeze(raw),
  };
}

function shownValue(name: VarName, value: string | undefined): string | undefined {
  // Programmatic callers can pass non-strings; show them as the text they would be.
  return value === undefined ? undefined : displayValue(String(value), isSecret(name));
}

/** The secret `livekit-server --dev` uses; public, so fine for a server on this machine only. */
export const LIVEKIT_DEV_SECRET = 'secret';

/**
 * The rules that involve more than one variable, in one place. Each issue names the variable to
 * fix and says which others play a part. Runs on an otherwise valid configuration.
 */
export function validateCombination(config: Config): Array<{ variable: VarName; expected: string }> {
  const issues: Array<{ variable: VarName; expected: string }> = [];
  const mode = config.ORCHESTRATOR_MODE;

  if (mode === 'agent' || mode === 'hybrid') {
    const livekitHost = new URL(config.LIVEKIT_URL).hostname;
    if (config.LIVEKIT_API_SECRET === LIVEKIT_DEV_SECRET && !isLoopbackHost(livekitHost)) {
      issues.push({
        variable: 'LIVEKIT_API_SECRET',
        expected:
          `the API secret of the LiveKit server at LIVEKIT_URL: the development secret of \`livekit-server --dev\` is public and only accepted while LIVEKIT_URL ` +
          `points at this machine (127.0.0.1, ::1 or localhost), not ${livekitHost}; set LIVEKIT_API_KEY and LIVEKIT_API_SECRET to that server's keys`,
      });
    }
  }

  if (mode === 'agent' || mode === 'hybrid') {
    for (const [choice, baseUrl] of [
      ['LLM_PROVIDER', 'LLM_BASE_URL'],
      ['STT_PROVIDER', 'STT_BASE_URL'],
    ] as const) {
      if (config[choice] === 'openai' && !config.OPENAI_API_KEY && !config[baseUrl]) {
        issues.push({
          variable: choice,
          expected: `\`local\`, \`auto\` or \`none\`: ${choice}=openai needs OPENAI_API_KEY (OpenAI) or ${baseUrl} (an OpenAI-compatible server), and neither is set`,
        });
      }
    }
  }

  if (localModelsNeeded(config).length > 0 && config.LOCAL_LLM_PORT === config.LOCAL_STT_PORT) {
    issues.push({ variable: 'LOCAL_STT_PORT', expected: `a port other than LOCAL_LLM_PORT (${config.LOCAL_LLM_PORT}): each local model server needs its own` });
  }

  if (mode === 'legacy' || mode === 'hybrid') {
    if (!isLoopbackHost(config.LEGACY_HOST) && config.LEGACY_AUTH_TOKEN === undefined && !config.LEGACY_ALLOW_ANONYMOUS) {
      issues.push({
        variable: 'LEGACY_AUTH_TOKEN',
        expected:
          `a token of at least 16 characters: LEGACY_HOST=${config.LEGACY_HOST} is not a loopback address, so anyone who reaches it could use the legacy server; ` +
          'set LEGACY_AUTH_TOKEN, or bind LEGACY_HOST=127.0.0.1, or set LEGACY_ALLOW_ANONYMOUS=true to allow anonymous clients on purpose',
      });
    }
  }
  return issues;
}
