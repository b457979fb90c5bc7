/** `npm run config:check`: prints the effective configuration, secrets masked, with each value's layer, then the assistants of ASSISTANTS_FILE. */
import { describeAssistants } from '../assistants/describe.js';
import { AssistantsFileError } from '../assistants/errors.js';
import { assistantsOptions } from '../assistants/from-config.js';
import { loadAssistantsFile } from '../assistants/load.js';
import type { AssistantsSet } from '../assistants/types.js';
import { ConfigError, type LoadedConfig, loadConfig } from './load.js';
import { displayValue } from './mask.js';
import { type VarName, VARIABLES } from './schema.js';

async function main(args: string[]): Promise<number> {
  try {
    const loaded = loadConfig();
    const { raw } = loaded;
    if (args[0] === '--get') {
      // For scripts: print one effective value, unmasked.
      const name = args[1] as VarName;
      if (!(name in VARIABLES)) {
        process.stderr.write(`unknown variable: ${args[1] ?? '(none)'}\n`);
        return 1;
      }
      process.stdout.write(`${raw[name] ?? ''}\n`);
      return 0;
    }
    const assistants = await loadAssistants(loaded);
    if (args[0] === '--quiet') return 0;
    printVariables(loaded);
    if (assistants) process.stdout.write(describeAssistants(assistants));
    process.stdout.write('configuration is valid\n');
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof AssistantsFileError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** The assistants of ASSISTANTS_FILE, when set: an invalid file fails the check like an invalid variable. */
async function loadAssistants(loaded: LoadedConfig): Promise<AssistantsSet | undefined> {
  const file = loaded.config.ASSISTANTS_FILE;
  return file === undefined ? undefined : loadAssistantsFile(file, assistantsOptions(loaded));
}

function printVariables({ raw, provenance }: LoadedConfig): void {
  const rows = (Object.keys(VARIABLES) as VarName[]).map((name) => {
    const value = raw[name];
    const secret = 'secret' in VARIABLES[name];
    const shown = value === undefined ? '(unset)' : displayValue(value, secret);
    return [name, shown, provenance[name]] as const;
  });
  const width = Math.max(...rows.map((r) => r[0].length));
  const valueWidth = Math.min(60, Math.max(...rows.map((r) => r[1].length)));
  process.stdout.write(`${'VARIABLE'.padEnd(width)}  ${'VALUE'.padEnd(valueWidth)}  SOURCE\n`);
  for (const [name, shown, layer] of rows) {
    const v = shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
    process.stdout.write(`${name.padEnd(width)}  ${v.padEnd(valueWidth)}  ${layer}\n`);
  }
}

process.exitCode = await main(process.argv.slice(2));
