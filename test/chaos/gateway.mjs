// One gateway instance of the chaos soak, in a process of its own (so it can be killed with -9).
// Runs the compiled code (dist/), configured from the environment; prints `ready <url>`.
import { startApp } from '../../dist/src/app.js';
import { loadConfig } from '../../dist/src/config.js';

const app = await startApp(loadConfig(process.env));
process.stdout.write(`ready ${app.url}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
