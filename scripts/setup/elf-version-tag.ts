/**
 * Set-up helper (onnxruntime.sh): renames one symbol-version requirement of an ELF64 shared object,
 * `tsx elf-version-tag.ts FILE OLD NEW` (e.g. VERS_1.30.0 -> VERS_1.32.0), in place.
 *
 * A library linked against onnxruntime 1.30 requires `OrtGetApiBase@VERS_1.30.0`; onnxruntime 1.32 exports the
 * same function as `@VERS_1.32.0` and serves the older C API versions through it. The requirement lives in the
 * object's `.gnu.version_r` section: an entry holding the tag's ELF hash and the offset of its name in the
 * dynamic string table. Both are rewritten (the names must be the same length); nothing else moves.
 * Exits 1 with a reason when the file is not such an object or does not require OLD exactly once.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const SHT_GNU_VERNEED = 0x6ffffffe;

/** The System V ELF hash, which the dynamic linker compares before the name. */
export function elfHash(name: string): number {
  let h = 0;
  for (const byte of Buffer.from(name, 'latin1')) {
    h = ((h << 4) + byte) >>> 0;
    const g = h & 0xf0000000;
    if (g !== 0) h ^= g >>> 24;
    h = (h & ~g) >>> 0;
  }
  return h;
}

export function renameVersionRequirement(elf: Buffer, from: string, to: string): number {
  if (from.length !== to.length) throw new Error(`the tags must be the same length (${from}, ${to})`);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not a little-endian ELF64 file');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { type: elf.readUInt32LE(at + 4), offset: Number(elf.readBigUInt64LE(at + 24)), link: elf.readUInt32LE(at + 40), info: elf.readUInt32LE(at + 44) };
  };
  let renamed = 0;
  for (let i = 0; i < shnum; i++) {
    const verneed = section(i);
    if (verneed.type !== SHT_GNU_VERNEED) continue;
    const strings = section(verneed.link).offset;
    let need = verneed.offset;
    for (let n = 0; n < verneed.info; n++) {
      let aux = need + elf.readUInt32LE(need + 8);
      for (let a = 0, count = elf.readUInt16LE(need + 2); a < count; a++) {
        const name = strings + elf.readUInt32LE(aux + 8);
        if (elf.toString('latin1', name, name + from.length + 1) === `${from}\0`) {
          elf.write(to, name, 'latin1');
          elf.writeUInt32LE(elfHash(to), aux);
          renamed++;
        }
        aux += elf.readUInt32LE(aux + 12);
      }
      need += elf.readUInt32LE(need + 12);
    }
  }
  return renamed;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, from, to] = process.argv.slice(2);
  if (!file || !from || !to) {
    process.stderr.write('usage: tsx elf-version-tag.ts FILE OLD NEW\n');
    process.exit(2);
  }
  try {
    const elf = readFileSync(file);
    const renamed = renameVersionRequirement(elf, from, to);
    if (renamed !== 1) throw new Error(`expected one requirement of ${from}, found ${renamed}`);
    writeFileSync(file, elf);
  } catch (err) {
    process.stderr.write(`elf-version-tag: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
