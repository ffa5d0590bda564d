// Creates a prescription and approves it over the bus, printing each outcome event.
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';

const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
const js = jetstream(nc);
// Outcomes are events of the main stream, subject {eventType}.{tenant}.
const outcomes = nc.subscribe('eprescribing.command.*.v1.tenant-a');
const pending = new Map();
(async () => {
  for await (const m of outcomes) pending.get(m.json().payload.commandId)?.(m.json());
})();

async function send(body) {
  const id = randomUUID(); // the command id (Nats-Msg-Id): resend it as is to retry safely
  const h = headers();
  h.set('Authorization', `Bearer ${process.env.TOKEN}`);
  const outcome = new Promise((resolve) => pending.set(id, resolve));
  const ack = await js.publish('cmd.eprescribing.tenant-a', JSON.stringify(body), { msgID: id, headers: h });
  console.log(`${body.command}: kept by the stream at seq ${ack.seq}`); // the PubAck: durably accepted
  const { metadata, payload } = await outcome;
  console.log(`  ${metadata.eventType}`, payload.reference ?? payload.code, payload.version ?? payload.message);
  return payload;
}

const created = await send({
  command: 'create',
  resource: {
    resourceType: 'MedicationRequest',
    status: 'draft',
    intent: 'order',
    subject: { reference: 'Patient/p1' },
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
    dispenseRequest: { performer: { reference: 'Organization/FM664' }, quantity: { value: 30, unit: 'tablet' } },
  },
});
const id = created.reference.split('/')[1];
await send({ command: 'approve', prescriptionId: id, ifMatch: created.etag, reason: 'approved by the payer' });
await send({ command: 'complete', prescriptionId: id }); // an EHR may not complete: rejected, FORBIDDEN_WRITE_PERSONA
await nc.close();
