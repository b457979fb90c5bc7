import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DownloadError, downloadVoice, listVoices, voiceRepoDir } from '../../src/tts/voice-download.js';
import { loadVoice } from '../../src/tts/voice.js';
import { writeTinyVoice } from '../support/tts/tiny-model.js';

const NAME = 'en_US-tiny-low';
let work: string;
let server: Server;
let baseUrl: string;
let files: Record<string, Buffer>;
let catalog: Record<string, unknown>;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'vo-voices-'));
  const src = join(work, 'src');
  await writeTinyVoice(src, NAME);
  const dir = voiceRepoDir(NAME);
  files = {
    [`/${dir}${NAME}.onnx`]: await readFile(join(src, `${NAME}.onnx`)),
    [`/${dir}${NAME}.onnx.json`]: await readFile(join(src, `${NAME}.onnx.json`)),
  };
  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
  catalog = {
    [NAME]: {
      files: Object.fromEntries(Object.entries(files).map(([p, b]) => [p.slice(1), { size_bytes: b.length, md5_digest: md5(b) }])),
    },
  };
  // a stand-in for the voice repository (HTTP file server with the same layout), on loopback
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/voices.json') return res.end(JSON.stringify(catalog));
    const body = files[path];
    if (!body) {
      res.statusCode = 404;
      return res.end('not found');
    }
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((res) => server.close(res));
  await rm(work, { recursive: true, force: true });
});

describe('voice download', () => {
  it('maps voice names to the piper-voices layout', () => {
    assert.equal(voiceRepoDir('en_US-lessac-medium'), 'en/en_US/lessac/medium/');
    assert.equal(voiceRepoDir('de_DE-thorsten_emotional-x_low'), 'de/de_DE/thorsten_emotional/x_low/');
    assert.throws(() => voiceRepoDir('lessac'), DownloadError);
  });

  it('downloads, checks and installs both files, with progress, and the voice loads', async () => {
    const voicesDir = join(work, 'ok');
    const lines: string[] = [];
    await downloadVoice(NAME, { baseUrl, voicesDir, progress: (line, done) => done && lines.push(line) });
    assert.deepEqual((await readdir(voicesDir)).sort(), [`${NAME}.onnx`, `${NAME}.onnx.json`]);
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /100 %/);
    const voice = await loadVoice(voicesDir, NAME);
    await voice.release();
    const listed = await listVoices(voicesDir);
    assert.deepEqual(
      listed.map((v) => [v.name, v.sampleRate]),
      [[NAME, 16000]],
    );
  });

  it('rejects a file whose md5 does not match the catalogue and leaves nothing behind', async () => {
    const voicesDir = join(work, 'bad-md5');
    const key = Object.keys(files).find((k) => k.endsWith('.onnx'))!;
    const original = files[key]!;
    files[key] = Buffer.from(original).fill(7, 100, 120);
    try {
      await assert.rejects(downloadVoice(NAME, { baseUrl, voicesDir }), /md5 does not match/);
    } finally {
      files[key] = original;
    }
    assert.deepEqual(await readdir(voicesDir), []);
  });

  it('says when the voice does not exist and when the repository cannot be reached', async () => {
    await assert.rejects(downloadVoice('en_US-nobody-low', { baseUrl, voicesDir: join(work, 'x') }), /HTTP 404.*no such voice/);
    await assert.rejects(downloadVoice(NAME, { baseUrl: 'http://127.0.0.1:9', voicesDir: join(work, 'y') }), /cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
