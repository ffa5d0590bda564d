import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/domain/index.js';
import type { DeliveredMessage } from '../../src/ports/index.js';
import { prescription } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

const t = useTestApp();

describe('transactional outbox', () => {
  it('commits an event with each change and the relay delivers it to the bus, in order, with the contract envelope', async () => {
    const received: Array<{ subject: string; envelope: EventEnvelope }> = [];
    const sub = await t.app.bus.subscribe('eprescribing.>', (m: DeliveredMessage) => {
      received.push({ subject: m.subject, envelope: JSON.parse(new TextDecoder().decode(m.data)) as EventEnvelope });
    });
    const ehr = await t.token('tenant-a', 'ehr-backend', 'carol');
    const created = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, headers: { 'x-correlation-id': 'corr-outbox-1' }, body: prescription() });
    const updated = await request(`${t.url}/fhir/MedicationRequest/${created.body.id}`, {
      method: 'PUT',
      token: ehr,
      headers: { 'if-match': 'W/"1"' },
      body: created.body,
    });
    expect(updated.status).toBe(200);

    const rows = await t.sql<{ event_type: string; published_at: Date | null }>(
      "SELECT event_type, published_at FROM outbox WHERE envelope #>> '{payload,resource,id}' = $1 ORDER BY seq",
      [created.body.id],
    );
    expect(rows.map((r) => r.event_type)).toEqual(['eprescribing.medication_request.created.v1', 'eprescribing.medication_request.updated.v1']);

    await expect.poll(() => received.filter((r) => r.envelope.payload.resource.id === created.body.id).length, { timeout: 10_000 }).toBe(2);
    await sub.close();
    const mine = received.filter((r) => r.envelope.payload.resource.id === created.body.id);
    expect(mine.map((r) => r.subject)).toEqual(['eprescribing.medication_request.created.v1.tenant-a', 'eprescribing.medication_request.updated.v1.tenant-a']);
    const [first, second] = mine.map((r) => r.envelope);
    expect(first.metadata).toMatchObject({
      eventType: 'eprescribing.medication_request.created.v1',
      eventSource: 'rxgate',
      tenantId: 'tenant-a',
      correlationId: 'corr-outbox-1',
      actor: { sub: 'carol', persona: 'ehr-backend' },
      schemaVersion: 1,
    });
    expect(first.metadata.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.payload).toMatchObject({ event: 'request', from: null, to: 'requested' });
    expect(first.payload.resource).toEqual(created.body);
    expect(BigInt(second.metadata.sequence)).toBeGreaterThan(BigInt(first.metadata.sequence));
    await expect.poll(async () => (await t.sql('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL'))[0].n, { timeout: 10_000 }).toBe(0);
  });

  it('writes no event when the change is refused', async () => {
    const before = (await t.sql('SELECT count(*)::int AS n FROM outbox'))[0].n;
    const pharmacy = await t.token('tenant-a', 'pharmacy-backend');
    expect((await request(`${t.url}/fhir/MedicationRequest`, { token: pharmacy, body: prescription() })).status).toBe(403);
    expect(
      (await request(`${t.url}/fhir/MedicationRequest`, { token: await t.token('tenant-a', 'ehr-backend'), body: { resourceType: 'MedicationRequest' } }))
        .status,
    ).toBe(422);
    expect((await t.sql('SELECT count(*)::int AS n FROM outbox'))[0].n).toBe(before);
  });
});
