/**
 * Set-up's onnxruntime 1.32 under onnxruntime-node (scripts/setup/onnxruntime.sh): the library this process maps
 * when it runs a model is the pinned one, and the binding's version-tag rename (elf-version-tag.ts) does exactly
 * that one change.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { elfHash, renameVersionRequirement } from '../../scripts/setup/elf-version-tag.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = readFileSync(join(ROOT, 'scripts/setup/onnxruntime.sh'), 'utf8');
const pinned = (name: string) => SCRIPT.match(new RegExp(`^${name}="([^"]+)"`, 'm'))?.[1] ?? '';
const BIN = join(ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
const notHere = process.platform !== 'linux' || process.arch !== 'x64' ? 'set-up installs it on Linux x86-64 only' : false;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('onnxruntime 1.32 under onnxruntime-node', { skip: notHere }, () => {
  const work = mkdtempSync(join(tmpdir(), 'vo-ort-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('is the library a model runs on in this process', async () => {
    const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');
    const model = join(ROOT, 'node_modules/@livekit/agents-plugin-silero/dist/silero_vad.onnx');
    const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
    const out = await session.run({
      input: new ort.Tensor('float32', new Float32Array(576), [1, 576]),
      state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]),
      sr: new ort.Tensor('int64', BigInt64Array.of(16000n)),
    });
    assert.equal(out.output?.data.length, 1);
    const mapped = [
      ...new Set(
        readFileSync('/proc/self/maps', 'utf8')
          .split('\n')
          .map((line) => line.split(/\s+/)[5] ?? '')
          .filter((path) => path.endsWith('/libonnxruntime.so.1')),
      ),
    ];
    assert.equal(mapped.length, 1, `onnxruntime libraries mapped: ${mapped.join(', ')}`);
    assert.equal(sha256(readFileSync(mapped[0]!)), pinned('LIB_SHA256'), `${mapped[0]} is not onnxruntime ${pinned('ORT_VERSION')}'s library`);
  });

  it("renames exactly the binding's one requirement of the release it was linked with", () => {
    const original = join(BIN, 'npm-original', 'onnxruntime_binding.node');
    const [from, to] = [`VERS_${pinned('ORT_LINKED')}`, `VERS_${pinned('ORT_VERSION')}`];
    const bytes = readFileSync(original);
    const renamed = Buffer.from(bytes);
    assert.equal(renameVersionRequirement(renamed, from, to), 1);
    const changed = [...bytes.keys()].filter((i) => bytes[i] !== renamed[i]);
    // the tag's differing characters and the 4-byte hash beside its entry, nothing else
    assert.ok(changed.length >= 1 && changed.length <= 6, `${changed.length} bytes changed`);
    assert.equal(renameVersionRequirement(Buffer.from(renamed), from, to), 0, 'a second rename finds nothing');
    // what set-up installed is this renamed binding
    assert.equal(sha256(readFileSync(join(BIN, 'onnxruntime_binding.node'))), sha256(renamed));

    const copy = join(work, 'binding.node');
    copyFileSync(original, copy);
    assert.throws(() => renameVersionRequirement(readFileSync(copy), from, 'VERS_1.3'), /same length/);
    writeFileSync(copy, 'not an ELF file at all, but long enough to read a header from');
    assert.throws(() => renameVersionRequirement(readFileSync(copy), from, to), /not a little-endian ELF64 file/);
  });

  it('hashes version names as the dynamic linker does', () => {
    // values from the System V ABI's reference implementation
    assert.equal(elfHash(''), 0);
    assert.equal(elfHash('GLIBC_2.2.5'), 0x09691a75);
    assert.equal(elfHash('GLIBC_2.14'), 0x06969194);
  });
});
