/**
 * `npm run assistants -- init [path] [--force]`: writes a commented template.
 * `npm run assistants -- check [path]`: validates a file and prints the effective assistants.
 * The path defaults to ASSISTANTS_FILE, else assistants.yaml.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.js';
import { describeAssistants } from './describe.js';
import { AssistantsFileError } from './errors.js';
import { assistantsOptions } from './from-config.js';
import { loadAssistantsFile } from './load.js';
import { locate } from './paths.js';
import { ASSISTANTS_TEMPLATE } from './template.js';

const DEFAULT_FILE = 'assistants.yaml';
const USAGE = `usage: npm run assistants -- init [path] [--force]   write a commented template (default: ASSISTANTS_FILE, else ${DEFAULT_FILE})
       npm run assistants -- check [path]           validate a file and print the effective assistants
`;

/** npm runs scripts from the project folder; a path the user typed starts where they typed it. */
const userDir = process.env['INIT_CWD'] ?? process.cwd();

async function init(args: string[]): Promise<number> {
  const force = args.includes('--force');
  const given = args.find((a) => !a.startsWith('--')) ?? configuredFile() ?? DEFAULT_FILE;
  const file = locate(given, userDir, process.env);
  try {
    await mkdir(dirname(file.absolute), { recursive: true });
    await writeFile(file.absolute, ASSISTANTS_TEMPLATE, { flag: force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      process.stderr.write(`${file.shown} already exists; not overwritten (--force overwrites it)\n`);
      return 1;
    }
    process.stderr.write(`${file.shown} cannot be written: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
    return 1;
  }
  process.stdout.write(
    `wrote ${file.shown}\n` + `next: edit it, check it with \`npm run assistants -- check ${given}\`, then set ASSISTANTS_FILE to it (in .env, for example)\n`,
  );
  return 0;
}

async function check(args: string[]): Promise<number> {
  const loaded = loadConfig();
  const given = args.find((a) => !a.startsWith('--')) ?? loaded.config.ASSISTANTS_FILE ?? DEFAULT_FILE;
  const set = await loadAssistantsFile(given, { ...assistantsOptions(loaded), fileBase: userDir });
  process.stdout.write(describeAssistants(set));
  process.stdout.write('assistants file is valid\n');
  return 0;
}

/** ASSISTANTS_FILE when the configuration can be read; init needs nothing else from it. */
function configuredFile(): string | undefined {
  try {
    return loadConfig().config.ASSISTANTS_FILE;
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === 'init') return await init(args);
    if (command === 'check') return await check(args);
  } catch (error) {
    if (error instanceof AssistantsFileError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  process.stderr.write(command === undefined || command === 'help' || command === '--help' ? USAGE : `unknown command: ${command}\n${USAGE}`);
  return command === 'help' || command === '--help' ? 0 : 2;
}

process.exitCode = await main(process.argv.slice(2));
