import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseDotenv } from 'dotenv';
import { type Config, type VarName, VARIABLES } from './schema.js';

/** The layers, lowest precedence first. */
export const FILE_LAYERS = ['.env.defaults', '.env', '.env.local'] as const;
export type Layer = (typeof FILE_LAYERS)[number] | 'environment' | 'built-in default' | 'unset';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ConfigIssue {
  variable: string;
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

export function formatIssue(issue: ConfigIssue): string {
  const shown = issue.value === undefined ? '(unset)' : JSON.stringify(issue.value);
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
      issues.push({ variable: name, value, expected, layer });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    config: Object.freeze(values) as Config,
    provenance: Object.freeze(provenance),
    raw: Object.freeze(raw),
  };
}
