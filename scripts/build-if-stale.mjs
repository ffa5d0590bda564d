// Compiles with tsc only when a source changed since the last successful build, so `npm start` and
// `npm run token` start at once on an unchanged tree (tsc, even incremental, spends seconds to find
// out nothing changed). Plain JavaScript: it must run before anything is compiled.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
// What tsconfig.json compiles and what changes its output; directories count too (a deleted file).
const inputs = ['src', 'migrations', 'scripts', 'ormconfig.ts', 'tsconfig.json', 'package.json'];

function newest(file) {
  let stats;
  try {
    stats = statSync(file);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(stats.mtimeMs, ...readdirSync(file).map((name) => newest(path.join(file, name))));
}

let built = 0;
try {
  built = statSync(stamp).mtimeMs;
} catch {
  // never built
}
// `--force` (npm run build) compiles whatever the stamps say.
if (process.argv.includes('--force') || Math.max(...inputs.map((input) => newest(path.join(root, input)))) >= built) {
  const started = Date.now();
  process.stderr.write('rxgate: compiling (tsc)…\n');
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  process.stderr.write(`rxgate: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
