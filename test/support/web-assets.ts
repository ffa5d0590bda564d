import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = path.join(root, 'dist', 'web', 'board.html');

const newestUnder = (dir: string): number =>
  Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
      entry.isDirectory() ? newestUnder(path.join(dir, entry.name)) : statSync(path.join(dir, entry.name)).mtimeMs,
    ),
  );

/** Builds the explorer and the board (npm run build:web) unless dist/web is newer than their sources. */
export function ensureWebAssetsBuilt(): void {
  const sourcesChanged = Math.max(newestUnder(path.join(root, 'web')), statSync(path.join(root, 'package-lock.json')).mtimeMs);
  if (existsSync(built) && statSync(built).mtimeMs >= sourcesChanged) return;
  execFileSync(process.execPath, [path.join(root, 'web', 'build.mjs')], { stdio: 'inherit' });
}
