import { it } from 'vitest';
import { startTestApp } from './test/support/test-app.js';
it('dbg', async () => {
  const t = await startTestApp({ env: { LOG_LEVEL: 'error' } });
  const ehr = await t.token('tenant-a', 'ehr-backend');
  const r = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${ehr}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: 'mutation($input: MedicationRequestInput!) { createMedicationRequest(input: $input) { id } }', variables: { input: '' } }) });
  console.log('DBG', r.status, (await r.text()).slice(0, 600));
  await t.close();
});
