/** `npm run config:check`: prints the effective configuration, secrets masked, with each value's layer. */
import { ConfigError, loadConfig } from './load.js';
import { type VarName, VARIABLES } from './schema.js';
import { displayValue } from './mask.js';

function main(args: string[]): number {
  try {
    const { raw, provenance } = loadConfig();
    if (args[0] === '--quiet') return 0;
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
    process.stdout.write('configuration is valid\n');
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = main(process.argv.slice(2));
