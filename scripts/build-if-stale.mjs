// Compiles with tsc only when a source changed since the last successful build, so `npm start` and
// `npm run token` start at once on an unchanged tree (tsc, even incremental, spends seconds to find
// out nothing changed). Plain JavaScript: it must run before anything is compiled.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
// What tsconfig.json compiles and what changes its output; directories count too (a deleted file).
const inputs = ['src', 'migrations', 'scripts', 'web', 'ormconfig.ts', 'tsconfig.json', 'package.json'];

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

/** One build at a time (parallel test files, a second terminal): the others wait, then find it current. */
function withLock(work) {
  const lock = path.join(root, 'dist', '.build-lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10 * 60_000)
        rmSync(lock, { recursive: true, force: true }); // left by a build that was killed
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

process.exitCode = withLock(() => {
  const built = statSync(stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  // `--force` (npm run build) compiles whatever the stamps say.
  if (!process.argv.includes('--force') && Math.max(...inputs.map((input) => newest(path.join(root, input)))) < built) return 0;
  const started = Date.now();
  process.stderr.write('rxgate: compiling (tsc)…\n');
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) return tsc.status ?? 1;
  // The explorer and the board (web/), bundled with esbuild into dist/web.
  const web = spawnSync(process.execPath, [path.join(root, 'web', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (web.status !== 0) return web.status ?? 1;
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  process.stderr.write(`rxgate: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
});
