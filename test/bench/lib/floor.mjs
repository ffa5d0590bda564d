// Starts and stops the floor server (floor-server.mjs) for the read and search rows.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './gateway.mjs';

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'floor-server.mjs');

/** `scripts`: pgbench scripts by name (`read`, `search`), as buildScript answers them. */
export async function startFloor({ databaseUrl, scripts }) {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, FLOOR_DATABASE_URL: databaseUrl, FLOOR_PORT: String(port), FLOOR_SCRIPTS: JSON.stringify(scripts) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exit = new Promise((resolve) => child.once('close', resolve));
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => String(chunk).includes('ready') && resolve());
    exit.then((code) => reject(new Error(`the floor server exited (${code}) before it was ready: ${stderr.trim()}`)));
  });
  return {
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exit;
    },
  };
}
