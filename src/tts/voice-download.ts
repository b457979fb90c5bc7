import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { voiceConfigSchema } from './voice-config.js';
import { loadVoice, voicePaths } from './voice.js';

/** `en_US-lessac-medium` -> `en/en_US/lessac/medium/` (the piper-voices repository layout). */
export function voiceRepoDir(name: string): string {
  const m = /^([a-z]{2,3})_([A-Za-z0-9]{2,4})-([A-Za-z0-9_]+)-(x_low|low|medium|high)$/.exec(name);
  if (!m) {
    throw new DownloadError(
      `"${name}" is not a Piper voice name; expected LANG_REGION-NAME-QUALITY such as en_US-lessac-medium (quality x_low, low, medium or high)`,
    );
  }
  const [, family, region, dataset, quality] = m;
  return `${family}/${family}_${region}/${dataset}/${quality}/`;
}

export class DownloadError extends Error {
  override name = 'DownloadError';
}

export interface DownloadOptions {
  baseUrl: string;
  voicesDir: string;
  /** Progress lines (a bar redrawn in place); default stderr when it is a terminal, else quiet. */
  progress?: (line: string, done: boolean) => void;
  fetchImpl?: typeof fetch;
  /** Abort when no byte arrives for this long. */
  idleTimeoutMs?: number;
}

const catalogEntrySchema = z.object({
  files: z.record(z.string(), z.object({ size_bytes: z.number().int().nonnegative(), md5_digest: z.string().regex(/^[0-9a-f]{32}$/) })),
});
const catalogSchema = z.record(z.string(), catalogEntrySchema);
type Expected = { size: number; md5: string } | undefined;

/**
 * Downloads `NAME.onnx` and `NAME.onnx.json` into `voicesDir`: progress bar, size + md5 check
 * against the repository's voices.json when it can be read, the JSON validated, the model
 * loaded once, then both files renamed into place (a failed download leaves nothing behind).
 */
export async function downloadVoice(name: string, options: DownloadOptions): Promise<{ model: string; config: string }> {
  const dir = voiceRepoDir(name);
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetchImpl ?? fetch;
  await mkdir(options.voicesDir, { recursive: true });
  const final = voicePaths(options.voicesDir, name);
  const suffix = `.part-${process.pid}`;
  const tmp = { model: final.model + suffix, config: final.config + suffix };
  const catalog = await readCatalog(base, doFetch);
  const expected = (file: string): Expected => {
    const entry = catalog?.[name]?.files[`${dir}${file}`];
    return entry ? { size: entry.size_bytes, md5: entry.md5_digest } : undefined;
  };
  try {
    await fetchToFile(`${base}/${dir}${name}.onnx.json`, tmp.config, expected(`${name}.onnx.json`), `${name}.onnx.json`, doFetch, options);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(tmp.config, 'utf8'));
    } catch {
      throw new DownloadError(`${name}.onnx.json downloaded but is not JSON (wrong VOICES_BASE_URL?)`);
    }
    const parsed = voiceConfigSchema.safeParse(json);
    if (!parsed.success) throw new DownloadError(`${name}.onnx.json is not a Piper voice config: ${parsed.error.issues[0]?.message}`);
    await fetchToFile(`${base}/${dir}${name}.onnx`, tmp.model, expected(`${name}.onnx`), `${name}.onnx`, doFetch, options);
    // prove the pair loads before it replaces anything
    await verifyLoads(options.voicesDir, name, tmp.model, tmp.config);
    await rename(tmp.config, final.config);
    await rename(tmp.model, final.model);
    return final;
  } finally {
    await rm(tmp.model, { force: true });
    await rm(tmp.config, { force: true });
  }
}

async function verifyLoads(voicesDir: string, name: string, model: string, config: string): Promise<void> {
  // loadVoice wants NAME.onnx + NAME.onnx.json side by side: stage them under a private name
  const stageName = `verify-${process.pid}-${name}.part`;
  const staged = voicePaths(voicesDir, stageName);
  await rename(model, staged.model);
  await rename(config, staged.config);
  try {
    const voice = await loadVoice(voicesDir, stageName);
    await voice.release();
  } catch (err) {
    throw new DownloadError(`the downloaded ${name} does not load: ${(err as Error).message}`);
  } finally {
    await rename(staged.model, model).catch(() => undefined);
    await rename(staged.config, config).catch(() => undefined);
  }
}

async function readCatalog(base: string, doFetch: typeof fetch): Promise<z.output<typeof catalogSchema> | undefined> {
  try {
    const res = await doFetch(`${base}/voices.json`, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) return undefined;
    const parsed = catalogSchema.safeParse(await res.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // checked below by the download itself, which reports the reason
  }
}

async function fetchToFile(url: string, file: string, expected: Expected, label: string, doFetch: typeof fetch, options: DownloadOptions): Promise<void> {
  const idle = options.idleTimeoutMs ?? 60_000;
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(new Error(`no data for ${idle / 1000} s`)), idle);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${idle / 1000} s`)), idle);
  };
  let res: Response;
  try {
    res = await doFetch(url, { signal: controller.signal, redirect: 'follow' });
  } catch (err) {
    clearTimeout(timer);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new DownloadError(
      `cannot reach ${new URL(url).origin} to download ${label} (${why}). Check the network or VOICES_BASE_URL; ` +
        `or copy NAME.onnx and NAME.onnx.json into VOICES_DIR by hand`,
    );
  }
  if (!res.ok || !res.body) {
    clearTimeout(timer);
    throw new DownloadError(
      `downloading ${label} failed: HTTP ${res.status} ${res.statusText} from ${new URL(url).origin}${res.status === 404 ? ' (no such voice?)' : ''}`,
    );
  }
  const total = expected?.size ?? (Number(res.headers.get('content-length')) || undefined);
  const hash = createHash('md5');
  let received = 0;
  let lastDraw = 0;
  const draw = (done: boolean) => options.progress?.(progressLine(label, received, total), done);
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    touch();
    received += chunk.length;
    hash.update(chunk);
    const now = Date.now();
    if (now - lastDraw > 100) {
      lastDraw = now;
      draw(false);
    }
  });
  try {
    await pipeline(body, createWriteStream(file));
  } catch (err) {
    throw new DownloadError(`downloading ${label} was interrupted: ${(err as Error).message}; run the command again`);
  } finally {
    clearTimeout(timer);
  }
  draw(true);
  const size = (await stat(file)).size;
  if (total !== undefined && size !== total) throw new DownloadError(`${label}: got ${size} bytes, expected ${total}; run the command again`);
  if (size === 0) throw new DownloadError(`${label}: the server sent an empty file`);
  if (expected && hash.digest('hex') !== expected.md5)
    throw new DownloadError(`${label}: md5 does not match the repository's voices.json; run the command again`);
}

function progressLine(label: string, received: number, total: number | undefined): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (!total) return `${label} ${mb(received)} MB`;
  const width = 30;
  const frac = Math.min(1, received / total);
  const filled = Math.round(frac * width);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)} % ${mb(received)}/${mb(total)} MB`;
}

export interface InstalledVoice {
  name: string;
  sampleRate?: number;
  speakers?: number;
  phonemeType?: string;
  sizeMb: number;
  problem?: string;
}

/** Voices in `voicesDir` (NAME.onnx with NAME.onnx.json), with a word on any that look broken. */
export async function listVoices(voicesDir: string): Promise<InstalledVoice[]> {
  const files = await readdir(voicesDir).catch(() => [] as string[]);
  const names = files.filter((f) => f.endsWith('.onnx') && !f.startsWith('verify-') && !f.includes('.part')).map((f) => f.slice(0, -'.onnx'.length));
  const voices: InstalledVoice[] = [];
  for (const name of names.sort()) {
    const paths = voicePaths(voicesDir, name);
    const sizeMb = (await stat(paths.model)).size / 1e6;
    try {
      const parsed = voiceConfigSchema.safeParse(JSON.parse(await readFile(paths.config, 'utf8')));
      if (!parsed.success) voices.push({ name, sizeMb, problem: 'config is not a Piper voice config' });
      else
        voices.push({
          name,
          sizeMb,
          sampleRate: parsed.data.audio.sample_rate,
          speakers: parsed.data.num_speakers,
          phonemeType: parsed.data.phoneme_type,
        });
    } catch {
      voices.push({ name, sizeMb, problem: `${name}.onnx.json missing or unreadable` });
    }
  }
  return voices;
}
