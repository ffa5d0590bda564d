// A gateway in a process of its own, whose insurance notifier always fails, so a test can kill it
// in the middle of an action's retries. Runs the compiled code (dist/), configured from the environment.
import { startApp } from '../../dist/src/app.js';
import { loadConfig } from '../../dist/src/config.js';

let attempts = 0;
const app = await startApp(loadConfig(process.env), {
  integrations: {
    insurance: {
      async approvalGranted() {
        attempts++;
        process.stdout.write(`attempt ${attempts}\n`);
        throw new Error('insurance endpoint unavailable');
      },
    },
  },
});
process.stdout.write(`ready ${app.url}\n`);
