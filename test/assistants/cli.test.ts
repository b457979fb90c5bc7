import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ASSISTANTS_TEMPLATE } from '../../src/assistants/template.js';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { requireTestVoice } from '../support/voices.js';

let userDir: string;
let voicesDir: string;
before(async () => {
  voicesDir = requireTestVoice(); // the template's voice, en_US-joe-medium
  userDir = await mkdtemp(join(tmpdir(), 'vo-assistants-cli-'));
});
after(() => rm(userDir, { recursive: true, force: true }));

/** `npm run assistants -- ARGS` as npm runs it: from the project folder, with INIT_CWD the folder the user is in. */
function assistants(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/assistants/cli.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', INIT_CWD: userDir, VOICES_DIR: voicesDir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('npm run assistants', () => {
  test('init writes the commented template where the user is; check accepts it and prints the effective assistants', () => {
    const init = assistants(['init', 'conf/assistants.yaml']);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, /^wrote conf\/assistants\.yaml\n/);
    const written = readFileSync(join(userDir, 'conf', 'assistants.yaml'), 'utf8');
    assert.equal(written, ASSISTANTS_TEMPLATE);
    assert.match(written, /^# /m, 'commented');
    assert.match(written, /api_key_env/);

    const check = assistants(['check', 'conf/assistants.yaml']);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /^assistants file conf\/assistants\.yaml: 2 assistants$/m);
    assert.match(
      check.stdout,
      /^ {2}receptionist\n {4}voice +en_US-joe-medium\n {4}llm +local \(local\)\n {4}stt +local \(local\)\n {4}greeting +"Hello, thank you/m,
    );
    assert.match(check.stdout, /^ {2}support$/m);
    assert.match(check.stdout, /^assistants file is valid$/m);
    assert.doesNotMatch(check.stdout, /You are the receptionist/, 'instructions are not printed');
  });

  test('init refuses to overwrite a file unless --force', async () => {
    const path = join(userDir, 'mine.yaml');
    await writeFile(path, '# my own assistants\n');
    const refused = assistants(['init', 'mine.yaml']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^mine\.yaml already exists; not overwritten \(--force overwrites it\)$/m);
    assert.equal(readFileSync(path, 'utf8'), '# my own assistants\n');
    const forced = assistants(['init', 'mine.yaml', '--force']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(readFileSync(path, 'utf8'), ASSISTANTS_TEMPLATE);
  });

  test('check names the file, the path inside it, the value and what is accepted, and exits 1', async () => {
    await writeFile(
      join(userDir, 'broken.yaml'),
      ASSISTANTS_TEMPLATE.replace('voice: en_US-joe-medium', 'voice: en_US-nobody-low').replace('stt: local', 'stt: whisper'),
    );
    const check = assistants(['check', 'broken.yaml']);
    assert.equal(check.status, 1);
    assert.match(check.stderr, /^invalid assistants file broken\.yaml:$/m);
    assert.match(check.stderr, /^ {2}assistants\[0\]\.voice = "en_US-nobody-low": expected an installed Piper voice/m);
    assert.match(check.stderr, /^ {2}assistants\[0\]\.stt = "whisper": expected the name of a profile under profiles \(local\)$/m);
    assert.equal(check.stdout, '');
  });

  test('without a path: check reads ASSISTANTS_FILE, init writes assistants.yaml where the user is', () => {
    const init = assistants(['init'], { ASSISTANTS_FILE: '' }); // empty = unset, whatever a developer's .env says
    assert.equal(init.status, 0, init.stderr);
    assert.ok(existsSync(join(userDir, 'assistants.yaml')));
    const check = assistants(['check'], { ASSISTANTS_FILE: join(userDir, 'assistants.yaml') });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /: 2 assistants$/m);
  });

  test('an unknown command prints the usage and exits 2', () => {
    const result = assistants(['frobnicate']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command: frobnicate\nusage: npm run assistants -- init/);
  });
});
