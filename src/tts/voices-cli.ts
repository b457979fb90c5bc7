/**
 * Voice management: `npm run voices -- list` and `npm run voices -- download NAME [NAME...]`.
 * Downloads public Piper voices from VOICES_BASE_URL (the piper-voices repository layout) into
 * VOICES_DIR.
 */
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.js';
import { DownloadError, downloadVoice, listVoices } from './voice-download.js';

const USAGE = `usage:
  npm run voices -- list                 voices installed in VOICES_DIR
  npm run voices -- download NAME...     fetch public Piper voices (e.g. en_US-lessac-medium)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const { config } = loadConfig();
  const voicesDir = resolve(process.cwd(), config.VOICES_DIR);

  if (command === 'list') {
    const voices = await listVoices(voicesDir);
    if (voices.length === 0) {
      process.stdout.write(`no voices in ${config.VOICES_DIR}; install one with: npm run voices -- download ${config.TTS_VOICE}\n`);
      return 0;
    }
    for (const v of voices) {
      const mark = v.name === config.TTS_VOICE ? '*' : ' ';
      const info = v.problem
        ? `BROKEN: ${v.problem}`
        : `${v.sampleRate} Hz, ${v.speakers} speaker${v.speakers === 1 ? '' : 's'}, ${v.phonemeType}, ${v.sizeMb.toFixed(0)} MB`;
      process.stdout.write(`${mark} ${v.name.padEnd(36)} ${info}\n`);
    }
    if (!voices.some((v) => v.name === config.TTS_VOICE)) {
      process.stdout.write(`(the configured TTS_VOICE ${config.TTS_VOICE} is not installed)\n`);
    }
    return 0;
  }

  if (command === 'download') {
    if (args.length === 0) {
      process.stderr.write(`voices download: name at least one voice\n${USAGE}\n`);
      return 2;
    }
    const tty = process.stderr.isTTY;
    for (const name of args) {
      process.stderr.write(`downloading ${name} from ${new URL(config.VOICES_BASE_URL).origin}\n`);
      let lastLen = 0;
      await downloadVoice(name, {
        baseUrl: config.VOICES_BASE_URL,
        voicesDir,
        progress: (line, done) => {
          if (tty) {
            process.stderr.write(`\r${line.padEnd(lastLen)}${done ? '\n' : ''}`);
            lastLen = line.length;
          } else if (done) {
            process.stderr.write(`${line}\n`);
          }
        },
      });
      process.stdout.write(`installed ${name} in ${config.VOICES_DIR}\n`);
    }
    return 0;
  }

  process.stderr.write(`voices: unknown command "${command}"\n${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof DownloadError) {
      process.stderr.write(`voices: ${err.message}\n`);
    } else {
      process.stderr.write(`voices: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  },
);
