import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUNDLE_FILES } from './bundle.js';

export interface Asset {
  body: Buffer;
  gzipped?: Buffer;
  contentType: string;
  etag: string;
  /** index.html is revalidated on every load; the rest may be cached briefly. */
  cacheControl: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot);
}

/** Reads the built page into memory once; the server then answers from this fixed map (no path lookups on disk). */
export async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const name of BUNDLE_FILES) {
    const body = await readFile(join(dir, name));
    const contentType = CONTENT_TYPES[extension(name)] ?? 'application/octet-stream';
    const compressible = !contentType.startsWith('image/') || name.endsWith('.svg');
    const gzipped = compressible && body.length > 1024 ? gzipSync(body) : undefined;
    const asset: Asset = {
      body,
      contentType,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      cacheControl: name === 'index.html' ? 'no-cache' : 'public, max-age=300',
      ...(gzipped ? { gzipped } : {}),
    };
    assets.set(`/${name}`, asset);
  }
  const index = assets.get('/index.html');
  if (index) assets.set('/', index);
  return assets;
}
