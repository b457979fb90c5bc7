import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml, stringify } from 'yaml';
import { loadAssistantsFile } from '../../src/assistants/load.js';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { fileError, put, scratch, TWO_ASSISTANTS_YAML } from './support.js';

let dir: string;
let voicesDir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ dir, voicesDir, cleanup } = await scratch(['en_US-joe-medium', 'en_US-amy-medium']));
  await put(join(dir, 'prompts', 'support.md'), '  You are patient technical support.\n');
});
after(() => cleanup());

const env = { HOME: '/nonexistent-home', OPENAI_API_KEY: 'sk-test' };
const load = (file: string, extra: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => loadAssistantsFile(file, { voicesDir, cwd: dir, env, ...extra });

/** Writes `doc` (an object, as YAML) or `text` to a fresh file under the scratch folder and loads it. */
let counter = 0;
async function loadText(text: string, ext = 'yaml') {
  const name = `case-${++counter}.${ext}`;
  await put(join(dir, name), text);
  return { name, result: load(name) };
}

describe('assistants file: valid files', () => {
  test('YAML: every assistant with its instructions, greeting, voice, chains breadth first, limits; frozen, version 1', async () => {
    await put(join(dir, 'two.yaml'), TWO_ASSISTANTS_YAML);
    const set = await load('two.yaml');
    assert.equal(set.version, 1);
    assert.equal(set.file, 'two.yaml');
    assert.deepEqual(
      set.assistants.map((a) => [a.name, a.greeting, a.voice, a.maxSessions]),
      [
        ['receptionist', 'Hello, reception here.', 'en_US-joe-medium', 4],
        ['support', 'Hi, support here.', 'en_US-joe-medium', undefined],
      ],
    );
    const [receptionist, support] = set.assistants;
    assert.equal(receptionist?.instructions, 'You are a receptionist.');
    assert.equal(support?.instructions, 'You are patient technical support.', 'read from prompts/support.md, relative to the file, trimmed');
    assert.equal(support?.instructionsFile, 'prompts/support.md');
    assert.deepEqual(receptionist?.llm, [
      { profile: 'my-vllm', provider: 'openai-compatible', baseURL: 'http://127.0.0.1:8000/v1', model: 'qwen', apiKeyEnv: 'VLLM_KEY' },
      { profile: 'openai-mini', provider: 'openai', model: 'gpt-4.1-mini', apiKeyEnv: 'OPENAI_API_KEY' },
      { profile: 'local', provider: 'local' },
    ]);
    assert.deepEqual(receptionist?.stt, [{ profile: 'local', provider: 'local' }]);
    assert.deepEqual(set.profiles['openai-mini'], {
      name: 'openai-mini',
      provider: 'openai',
      model: 'gpt-4.1-mini',
      apiKeyEnv: 'OPENAI_API_KEY',
      fallback: ['local'],
    });
    assert.ok(Object.isFrozen(set) && Object.isFrozen(set.assistants[0]) && Object.isFrozen(set.assistants[0]?.llm[0]));
    assert.deepEqual(set.warnings, ['profiles.my-vllm: the environment variable VLLM_KEY (api_key_env) is not set, so this profile has no key']);
  });

  test('JSON gives the same assistants as YAML', async () => {
    await put(join(dir, 'two.json'), JSON.stringify(parseYaml(TWO_ASSISTANTS_YAML)));
    await put(join(dir, 'two.yml'), TWO_ASSISTANTS_YAML);
    const [fromJson, fromYaml] = await Promise.all([load('two.json'), load('two.yml')]);
    assert.deepEqual(fromJson.assistants, fromYaml.assistants);
    assert.deepEqual(fromJson.profiles, fromYaml.profiles);
    assert.equal(fromJson.file, 'two.json');
  });

  test('an openai profile reads OPENAI_API_KEY unless it names another variable; one on another server needs none', async () => {
    const { result } = await loadText(
      stringify({
        profiles: { oa: { provider: 'openai', model: 'gpt-4.1-mini' }, proxy: { provider: 'openai', model: 'm', base_url: 'https://llm.example/v1' } },
        assistants: [{ name: 'a', instructions: 'x', voice: 'en_US-amy-medium', llm: 'oa', stt: 'proxy', greeting: '' }],
      }),
    );
    const set = await result;
    assert.equal(set.assistants[0]?.llm[0]?.apiKeyEnv, 'OPENAI_API_KEY');
    assert.equal(set.assistants[0]?.stt[0]?.apiKeyEnv, undefined);
    assert.equal(set.assistants[0]?.greeting, '');
  });

  test('~ is the home folder, and a path inside it is shown as ~/..., never absolute', async () => {
    const home = join(dir, 'home');
    await put(join(home, 'conf', 'assistants.yaml'), TWO_ASSISTANTS_YAML.replace('prompts/support.md', '../../prompts/support.md'));
    const homeEnv = { ...env, HOME: home };
    assert.equal((await load('~/conf/assistants.yaml', { env: homeEnv })).file, '~/conf/assistants.yaml');
    assert.equal((await load(join(home, 'conf', 'assistants.yaml'), { env: homeEnv })).file, '~/conf/assistants.yaml');
    const error = await fileError(load('~/conf/missing.yaml', { env: homeEnv }));
    assert.match(error.message, /^invalid assistants file ~\/conf\/missing\.yaml:\n {2}\(the file\): not found$/);
    assert.ok(!error.message.includes(home), 'no absolute home path in the message');
  });

  test('a relative file starts at the working directory; instructions_file at the file’s own folder', async () => {
    await put(join(dir, 'nested', 'deeper', 'a.yaml'), TWO_ASSISTANTS_YAML.replace('prompts/support.md', 'support.md'));
    await put(join(dir, 'nested', 'deeper', 'support.md'), 'Nested instructions.');
    const set = await load('deeper/a.yaml', { cwd: join(dir, 'nested') });
    assert.equal(set.file, 'deeper/a.yaml');
    assert.equal(set.assistants[1]?.instructions, 'Nested instructions.');
  });

  test('the assistants file of the Kubernetes manifests is valid', async () => {
    const configMap = parseYaml(readFileSync(join(PROJECT_ROOT, 'deploy/k8s/configmap-assistants.yaml'), 'utf8')) as { data: Record<string, string> };
    const { voicesDir: k8sVoices, cleanup: done, dir: k8sDir } = await scratch(['en_US-lessac-medium']);
    try {
      await put(join(k8sDir, 'assistants.yaml'), configMap.data['assistants.yaml'] ?? '');
      const set = await loadAssistantsFile('assistants.yaml', { voicesDir: k8sVoices, cwd: k8sDir, env: {} });
      assert.ok(set.assistants.length >= 1);
    } finally {
      await done();
    }
  });
});

describe('assistants file: every problem, with the path inside the file, the value and what is accepted', () => {
  const profiles = { local: { provider: 'local' }, 'openai-mini': { provider: 'openai', model: 'gpt-4.1-mini', fallback: ['local'] } };
  const assistant = (extra: Record<string, unknown> = {}) => ({
    name: 'a',
    instructions: 'x',
    voice: 'en_US-joe-medium',
    llm: 'local',
    stt: 'local',
    ...extra,
  });
  const cases: Array<[string, unknown, RegExp[]]> = [
    [
      'an unknown profile',
      { profiles, assistants: [assistant(), assistant({ name: 'b', llm: 'gpt5' })] },
      [/^ {2}assistants\[1\]\.llm = "gpt5": expected the name of a profile under profiles \(local, openai-mini\)$/m],
    ],
    [
      'a duplicate name',
      { profiles, assistants: [assistant(), assistant()] },
      [/assistants\[1\]\.name = "a": expected a name no other assistant has \(assistants\[0\] has it too\)/],
    ],
    [
      'a voice that is not installed',
      { profiles, assistants: [assistant({ voice: 'en_US-nobody-medium' })] },
      [
        /assistants\[0\]\.voice = "en_US-nobody-medium": expected an installed Piper voice .*`npm run voices -- download en_US-nobody-medium`.*installed: en_US-amy-medium, en_US-joe-medium/,
      ],
    ],
    [
      'a voice name that is a path',
      { profiles, assistants: [assistant({ voice: '../secrets' })] },
      [/assistants\[0\]\.voice = "\.\.\/secrets": expected a Piper voice name/],
    ],
    [
      'a missing instructions_file',
      { profiles, assistants: [assistant({ instructions: undefined, instructions_file: 'nope.md' })] },
      [/assistants\[0\]\.instructions_file = "nope\.md": expected a readable file of instructions .*nope\.md is not found/],
    ],
    [
      'both instructions and instructions_file',
      { profiles, assistants: [assistant({ instructions_file: 'prompts/support.md' })] },
      [/assistants\[0\]\.instructions_file = "prompts\/support\.md": give either instructions or instructions_file, not both/],
    ],
    [
      'neither instructions nor instructions_file',
      { profiles, assistants: [assistant({ instructions: undefined })] },
      [/assistants\[0\]\.instructions: missing; expected the instructions text, or instructions_file/],
    ],
    [
      'an agent name LiveKit would refuse',
      { profiles, assistants: [assistant({ name: 'front desk' })] },
      [/assistants\[0\]\.name = "front desk": expected a LiveKit agent name: 1 to 64/],
    ],
    [
      'max_sessions out of range',
      { profiles, assistants: [assistant({ max_sessions: 0 })] },
      [/assistants\[0\]\.max_sessions = 0: expected an integer between 1 and 1000/],
    ],
    [
      'a misspelt field',
      { profiles, assistants: [assistant({ greetting: 'Hi' })] },
      [/assistants\[0\]\.greetting: unknown field; an assistant accepts: name, instructions, instructions_file, greeting, voice, llm, stt, max_sessions/],
    ],
    ['no assistants', { profiles, assistants: [] }, [/assistants = \(a list\): expected at least one assistant/]],
    [
      'no profiles section',
      { assistants: [assistant()] },
      [/profiles: missing; expected a mapping of profile names to profiles/, /assistants\[0\]\.llm = "local"/],
    ],
    [
      'an unknown provider',
      { profiles: { local: { provider: 'anthropic' } }, assistants: [assistant()] },
      [/profiles\.local\.provider = "anthropic": expected one of local, openai, openai-compatible/],
    ],
    [
      'a local profile with a model',
      { profiles: { local: { provider: 'local', model: 'x' } }, assistants: [assistant()] },
      [/profiles\.local\.model = "x": not used by a `local` profile/],
    ],
    [
      'an openai-compatible profile without base_url or model',
      { profiles: { local: { provider: 'openai-compatible' } }, assistants: [assistant()] },
      [
        /profiles\.local\.model: missing; expected a model name \(provider openai-compatible needs one\)/,
        /profiles\.local\.base_url: missing; expected the http\(s\) URL/,
      ],
    ],
    [
      'a base_url that is not http(s)',
      { profiles: { local: { provider: 'openai-compatible', model: 'm', base_url: 'ftp://h/v1' } }, assistants: [assistant()] },
      [/profiles\.local\.base_url = "ftp:\/\/h\/v1": expected an http:\/\/ or https:\/\/ URL/],
    ],
    [
      'a fallback to a profile that does not exist',
      { profiles: { local: { provider: 'local', fallback: ['ghost'] } }, assistants: [assistant()] },
      [/profiles\.local\.fallback\[0\] = "ghost": expected the name of a profile under profiles \(local\)/],
    ],
    [
      'a fallback to itself',
      { profiles: { local: { provider: 'local', fallback: ['local'] } }, assistants: [assistant()] },
      [/profiles\.local\.fallback\[0\] = "local": expected another profile than local itself/],
    ],
    [
      'a fallback cycle',
      {
        profiles: { local: { provider: 'local', fallback: ['b'] }, b: { provider: 'local', fallback: ['c'] }, c: { provider: 'local', fallback: ['local'] } },
        assistants: [assistant()],
      },
      [/profiles\.c\.fallback\[0\] = "local": expected fallbacks that do not lead back .*\(local -> b -> c -> local is a cycle\)/],
    ],
    ['a top level that is not a mapping', ['a'], [/\(the file\) = \(a list\): expected an assistants file with the fields profiles, assistants/]],
  ];
  for (const [what, doc, fragments] of cases) {
    test(what, async () => {
      const { name, result } = await loadText(stringify(doc));
      const error = await fileError(result);
      assert.ok(error.message.startsWith(`invalid assistants file ${name}:\n`), error.message);
      for (const fragment of fragments) assert.match(error.message, fragment);
    });
  }

  test('a key in the file is refused, wherever it is, and never echoed', async () => {
    const secret = 'sk-live-0123456789abcdefSECRET';
    const doc = {
      profiles: {
        local: { provider: 'local' },
        oa: { provider: 'openai', model: 'm', api_key: secret },
        proxy: { provider: 'openai-compatible', model: 'm', base_url: `https://me:${secret}@llm.example/v1` },
        query: { provider: 'openai-compatible', model: 'm', base_url: `https://llm.example/v1?api_key=${secret}` },
        pasted: { provider: 'openai', model: 'm', api_key_env: secret },
        typo: { provider: 'openai', model: 'm', apikey: secret },
      },
      assistants: [assistant()],
    };
    const error = await fileError((await loadText(stringify(doc))).result);
    assert.match(
      error.message,
      /profiles\.oa\.api_key: keys never go in the file: put the key in an environment variable and name that variable with api_key_env/,
    );
    assert.match(
      error.message,
      /profiles\.proxy\.base_url = "https:\/\/\*\*\*@llm\.example\/v1": expected a URL without credentials: keys never go in the file/,
    );
    assert.match(error.message, /profiles\.query\.base_url = "https:\/\/llm\.example\/v1\?api_key=\*\*\*": expected a URL without credentials/);
    assert.match(error.message, /profiles\.pasted\.api_key_env = \(not shown: it may be a key\): expected the name of an environment variable/);
    assert.match(error.message, /profiles\.typo\.apikey: unknown field/);
    assert.ok(!error.message.includes('SECRET'), error.message);
  });

  test('every problem is listed at once, in file order', async () => {
    const doc = {
      profiles: { local: { provider: 'local', fallback: ['ghost'] } },
      assistants: [assistant({ llm: 'nope' }), assistant({ voice: 'en_US-nobody-medium' }), assistant({ name: 'c', stt: 'nope', max_sessions: 5000 })],
    };
    const error = await fileError((await loadText(stringify(doc))).result);
    assert.deepEqual(
      error.issues.map((i) => i.path),
      ['profiles.local.fallback[0]', 'assistants[0].llm', 'assistants[1].name', 'assistants[1].voice', 'assistants[2].stt', 'assistants[2].max_sessions'],
    );
  });

  test('syntax errors name the line; JSON errors the problem', async () => {
    const yamlError = await fileError((await loadText('profiles:\n  local: { provider: local\nassistants: []\n')).result);
    assert.match(yamlError.message, /\(the file\): not valid YAML at line \d+, column \d+/);
    const dupError = await fileError((await loadText('profiles: {}\nprofiles: {}\nassistants: []\n')).result);
    assert.match(dupError.message, /not valid YAML at line 2.*unique/i);
    const jsonError = await fileError((await loadText('{"profiles": ', 'json')).result);
    assert.match(jsonError.message, /\(the file\): not valid JSON: /);
    const empty = await fileError((await loadText('')).result);
    assert.match(empty.message, /\(the file\) = null: expected an assistants file with the fields profiles, assistants/);
  });

  test('sizes are bounded: the file to 1 MB, an instructions_file to 64 KB; other extensions are refused', async () => {
    const big = await fileError((await loadText(`# ${'x'.repeat(1024 * 1024)}\n`)).result);
    assert.match(big.message, /\(the file\): \d+ bytes, larger than the 1048576 bytes accepted/);
    await put(join(dir, 'prompts', 'huge.md'), 'y'.repeat(64 * 1024 + 1));
    const huge = await fileError(
      (await loadText(stringify({ profiles, assistants: [assistant({ instructions: undefined, instructions_file: 'prompts/huge.md' })] }))).result,
    );
    assert.match(huge.message, /assistants\[0\]\.instructions_file = "prompts\/huge\.md": .*larger than the 65536 bytes accepted/);
    const inline = await fileError((await loadText(stringify({ profiles, assistants: [assistant({ instructions: 'z'.repeat(64 * 1024 + 1) })] }))).result);
    assert.match(inline.message, /assistants\[0\]\.instructions = "z+…": expected instructions of at most 65536 characters/);
    const toml = await fileError((await loadText('x = 1', 'toml')).result);
    assert.match(toml.message, /\(the file\): expected a file ending in \.yaml, \.yml or \.json/);
  });
});
