// Builds the explorer and the board into dist/web with esbuild: everything they load is bundled here,
// so the pages make no request outside the gateway (no CDN). No network is needed to build.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const web = path.dirname(fileURLToPath(import.meta.url));
const target = path.resolve(web, '..', 'dist', 'web');
// Built beside the target, then moved in file by file (rename is atomic): a gateway starting while
// another build runs (a benchmark beside the tests) never finds the pages missing.
const out = `${target}.building-${process.pid}`;

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const started = Date.now();
await build({
  entryPoints: { explorer: path.join(web, 'explorer', 'main.tsx'), board: path.join(web, 'board', 'main.ts') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  // React and GraphiQL read NODE_ENV to drop their development checks.
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'none',
  logLevel: 'warning',
});
for (const page of ['explorer', 'board']) await writeFile(path.join(out, `${page}.html`), await readFile(path.join(web, page, 'index.html')));
// Served compressed to clients that accept gzip: the explorer bundle is mostly GraphiQL and its fonts.
for (const name of await readdir(out)) {
  if (/\.(js|css|html)$/.test(name)) await writeFile(path.join(out, `${name}.gz`), gzipSync(await readFile(path.join(out, name)), { level: 9 }));
}
const files = await readdir(out);
await mkdir(target, { recursive: true });
for (const name of files) await rename(path.join(out, name), path.join(target, name));
for (const name of await readdir(target)) if (!files.includes(name)) await rm(path.join(target, name), { recursive: true, force: true });
await rm(out, { recursive: true, force: true });
console.log(`web: built ${files.filter((f) => !f.endsWith('.gz')).join(', ')} into dist/web in ${Date.now() - started} ms`);
