import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AssistantsFileError } from '../../src/assistants/errors.js';
import type { AssistantsSet } from '../../src/assistants/types.js';
import { AssistantsSource, type AssistantsSourceOptions } from '../../src/assistants/watch.js';
import { put, scratch, TWO_ASSISTANTS_YAML } from './support.js';

/** A fresh deadline for each wait. */
const wait = () => ({ signal: AbortSignal.timeout(10_000) });

describe('AssistantsSource: reloads the assistants file when it changes, keeps the running version when an edit is invalid', () => {
  let dir: string;
  let file: string;
  let cleanup: () => Promise<void>;
  let source: AssistantsSource;
  const sources: AssistantsSource[] = [];

  const start = async (options: Partial<AssistantsSourceOptions> = {}) => {
    const made = new AssistantsSource({ file: 'assistants.yaml', voicesDir: 'voices', cwd: dir, env: { HOME: dir }, debounceMs: 100, ...options });
    sources.push(made);
    await made.start();
    return made;
  };
  const greetingOf = (set: AssistantsSet, name: string) => set.assistants.find((a) => a.name === name)?.greeting;

  // The source never keeps the process alive on its own (its watchers and timer are unref'd).
  let keepAlive: NodeJS.Timeout;
  beforeEach(async () => {
    keepAlive = setInterval(() => undefined, 1000);
    const made = await scratch();
    ({ dir, cleanup } = made);
    file = await put(join(dir, 'assistants.yaml'), TWO_ASSISTANTS_YAML);
    await put(join(dir, 'prompts', 'support.md'), 'You are support.');
  });
  afterEach(async () => {
    for (const made of sources.splice(0)) made.stop();
    clearInterval(keepAlive);
    await cleanup();
  });

  test('start() loads version 1; an edit in place becomes version 2 with a changed event', async () => {
    source = await start();
    assert.equal(source.current().version, 1);
    const changed = once(source, 'changed', wait());
    await writeFile(file, TWO_ASSISTANTS_YAML.replace('Hello, reception here.', 'Welcome to the front desk.'));
    const [set] = (await changed) as [AssistantsSet];
    assert.equal(set.version, 2);
    assert.equal(greetingOf(set, 'receptionist'), 'Welcome to the front desk.');
    assert.equal(source.current(), set);
  });

  test('an invalid edit emits invalid with the messages, and current() keeps the running version', async () => {
    source = await start();
    const running = source.current();
    const invalid = once(source, 'invalid', wait());
    await writeFile(file, TWO_ASSISTANTS_YAML.replace('llm: openai-mini', 'llm: gpt-5'));
    const [error] = (await invalid) as [AssistantsFileError];
    assert.ok(error instanceof AssistantsFileError);
    assert.match(error.message, /^invalid assistants file assistants\.yaml:\n {2}assistants\[1\]\.llm = "gpt-5": expected the name of a profile/);
    assert.equal(source.current(), running);
    assert.equal(source.current().version, 1);

    // Fixed again: the next valid version follows the running one.
    const changed = once(source, 'changed', wait());
    await writeFile(file, TWO_ASSISTANTS_YAML.replace('Hi, support here.', 'Support, hello.'));
    const [set] = (await changed) as [AssistantsSet];
    assert.equal(set.version, 2);
  });

  test('an editor that writes a new file and renames it over the old one is seen', async () => {
    source = await start();
    const changed = once(source, 'changed', wait());
    const temporary = join(dir, '.assistants.yaml.swp');
    await writeFile(temporary, TWO_ASSISTANTS_YAML.replace('Hello, reception here.', 'Saved by rename.'));
    await rename(temporary, file);
    const [set] = (await changed) as [AssistantsSet];
    assert.equal(greetingOf(set, 'receptionist'), 'Saved by rename.');

    // The folder is still watched after the replacement.
    const again = once(source, 'changed', wait());
    await writeFile(file, TWO_ASSISTANTS_YAML.replace('Hello, reception here.', 'Second save.'));
    assert.equal(greetingOf(((await again) as [AssistantsSet])[0], 'receptionist'), 'Second save.');
  });

  test('an edit of an instructions_file reloads too', async () => {
    source = await start();
    const changed = once(source, 'changed', wait());
    await writeFile(join(dir, 'prompts', 'support.md'), 'You are very patient support.');
    const [set] = (await changed) as [AssistantsSet];
    assert.equal(set.assistants.find((a) => a.name === 'support')?.instructions, 'You are very patient support.');
  });

  test('saves in quick succession make one new version; events for other files make none', async () => {
    source = await start();
    const versions: number[] = [];
    source.on('changed', (set) => versions.push(set.version));
    for (const greeting of ['One.', 'Two.', 'Three.']) {
      await writeFile(file, TWO_ASSISTANTS_YAML.replace('Hello, reception here.', greeting));
      await sleep(10);
    }
    await writeFile(join(dir, 'unrelated.txt'), 'x');
    await sleep(800);
    assert.deepEqual(versions, [2]);
    assert.equal(greetingOf(source.current(), 'receptionist'), 'Three.');
  });

  test('reload() without watching: changed, then unchanged when nothing changed', async () => {
    source = await start({ watch: false });
    await writeFile(file, TWO_ASSISTANTS_YAML.replace('max_sessions: 4', 'max_sessions: 2'));
    const first = await source.reload();
    assert.equal(first.result, 'changed');
    assert.equal(source.current().assistants[0]?.maxSessions, 2);
    const second = await source.reload();
    assert.equal(second.result, 'unchanged');
    assert.equal(source.current().version, 2);
    await writeFile(file, 'assistants: [');
    const third = await source.reload();
    assert.equal(third.result, 'invalid');
    assert.equal(source.current().version, 2);
  });

  test('start() throws on an invalid file; SIGHUP reloads only when asked for, and stop() removes the handler', async () => {
    await writeFile(file, 'profiles: {}\nassistants: []\n');
    await assert.rejects(start(), AssistantsFileError);
    await writeFile(file, TWO_ASSISTANTS_YAML);

    const listeners = process.listenerCount('SIGHUP');
    const quiet = await start({ watch: false });
    assert.equal(process.listenerCount('SIGHUP'), listeners, 'no SIGHUP handler unless asked');
    quiet.stop();

    source = await start({ watch: false, sighup: true });
    assert.equal(process.listenerCount('SIGHUP'), listeners + 1);
    await writeFile(file, TWO_ASSISTANTS_YAML.replace('Hi, support here.', 'Reloaded by SIGHUP.'));
    const changed = once(source, 'changed', wait());
    process.kill(process.pid, 'SIGHUP');
    assert.equal(greetingOf(((await changed) as [AssistantsSet])[0], 'support'), 'Reloaded by SIGHUP.');
    source.stop();
    assert.equal(process.listenerCount('SIGHUP'), listeners);
  });

  test('after stop() edits are no longer followed', async () => {
    source = await start();
    source.stop();
    let events = 0;
    source.on('changed', () => events++);
    source.on('invalid', () => events++);
    await writeFile(file, TWO_ASSISTANTS_YAML.replace('Hello, reception here.', 'Ignored.'));
    await sleep(500);
    assert.equal(events, 0);
    assert.equal(source.current().version, 1);
  });
});
