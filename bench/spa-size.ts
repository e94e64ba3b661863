/** Gzip size of the SPA's built JS and CSS (what a browser downloads), from `apps/web/dist/assets`. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ASSETS = fileURLToPath(new URL('../apps/web/dist/assets/', import.meta.url));

export interface SpaSize {
  readonly jsBytes: number;
  readonly jsGzipBytes: number;
  readonly cssBytes: number;
  readonly cssGzipBytes: number;
}

/** Sums every `.js` and `.css` asset, gzipped at level 9 (`gzip -9`). */
export function measureSpaSize(): SpaSize {
  const size = { jsBytes: 0, jsGzipBytes: 0, cssBytes: 0, cssGzipBytes: 0 };
  for (const name of readdirSync(ASSETS)) {
    const kind = name.endsWith('.js') ? 'js' : name.endsWith('.css') ? 'css' : undefined;
    if (!kind) continue;
    const content = readFileSync(`${ASSETS}${name}`);
    size[`${kind}Bytes`] += content.length;
    size[`${kind}GzipBytes`] += gzipSync(content, { level: 9 }).length;
  }
  return size;
}
