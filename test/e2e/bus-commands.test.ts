import { randomUUID } from 'node:crypto';
import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BusSubscription, DeliveredMessage } from '../../src/ports/index.js';
import { PriorAuthorizationDocument, SubmitPriorAuthorizationDocument } from '../generated/graphql.js';
import { prescription } from '../support/fixtures.js';
import { graphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { signToken, startTestApp, type TestApp } from '../support/test-app.js';
import { useTestApp } from '../support/use-test-app.js';

const natsUrl = inject('natsUrl');

interface Received {
  subject: string;
  envelope: any;
}

/** Messages of the app's bus matching a filter, with waits that resolve as they arrive (no sleeps). */
async function collect(t: TestApp, filter: string) {
  const received: Received[] = [];
  const waiters: Array<{ test: (r: Received[]) => boolean; resolve: () => void }> = [];
  const sub: BusSubscription = await t.app.bus.subscribe(filter, (m: DeliveredMessage) => {
    received.push({ subject: m.subject, envelope: JSON.parse(Buffer.from(m.data).toString('utf8')) });
    for (const w of [...waiters]) {
      if (!w.test(received)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    received,
    close: () => sub.close(),
    /** Resolves with the matching messages once `count` of them have arrived. */
    async until(match: (r: Received) => boolean, count = 1): Promise<Received[]> {
      const test = (all: Received[]) => all.filter(match).length >= count;
      if (!test(received)) await new Promise<void>((resolve) => waiters.push({ test, resolve }));
      return received.filter(match);
    },
  };
}

describe.runIf(natsUrl)('commands over the bus (CONTRACT §11; NATS only, runs with TEST_NATS_URL)', () => {
  let t: TestApp;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let outcomes: Awaited<ReturnType<typeof collect>>;
  let deadLetters: Awaited<ReturnType<typeof collect>>;
  let ehr: string;
  let pharmacy: string;

  beforeAll(async () => {
    // The smallest duplicate window JetStream accepts, so a repeat past it reaches the gateway's own record.
    t = await startTestApp({ env: { COMMANDS_DUPLICATE_WINDOW_MS: '100', COMMANDS_MAX_DELIVERIES: '2' } });
    nc = await connect({ servers: natsUrl });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    outcomes = await collect(t, 'eprescribing.command.>');
    deadLetters = await collect(t, 'dlq.eprescribing.commands.>');
    [ehr, pharmacy] = await Promise.all([t.token('tenant-a', 'ehr-backend'), t.token('tenant-a', 'pharmacy-backend')]);
  });
  afterAll(async () => {
    await outcomes?.close();
    await deadLetters?.close();
    await nc?.close();
    await t?.close();
  });

  const commandsStream = () => `${t.app.config.natsStream}_COMMANDS`;

  /** Publishes a command the way an outside system does; answers JetStream's PubAck. */
  async function send(body: unknown, options: { tenant?: string; token?: string | null; id?: string; raw?: string } = {}) {
    const h = natsHeaders();
    if (options.token !== null) h.set('Authorization', `Bearer ${options.token ?? ehr}`);
    const id = options.id ?? randomUUID();
    const ack = await js.publish(`${t.app.config.natsSubjectPrefix}cmd.eprescribing.${options.tenant ?? 'tenant-a'}`, options.raw ?? JSON.stringify(body), {
      msgID: id,
      headers: h,
    });
    return { id, seq: ack.seq, duplicate: ack.duplicate };
  }

  const outcomeOf = async (id: string, count = 1) => (await outcomes.until((r) => r.envelope.payload.commandId === id, count)).map((r) => r.envelope);

  async function create(): Promise<{ id: string; outcome: any }> {
    const { id } = await send({ command: 'create', resource: prescription() });
    const [outcome] = await outcomeOf(id);
    expect(outcome.metadata.eventType, JSON.stringify(outcome.payload)).toBe('eprescribing.command.accepted.v1');
    return { id: outcome.payload.reference.split('/')[1], outcome };
  }

  it('creates a prescription and moves it to completed, each command accepted with the resource reference and version', async () => {
    const { id, outcome } = await create();
    expect(outcome.metadata).toMatchObject({ tenantId: 'tenant-a', actor: { sub: 'ehr-backend-user', persona: 'ehr-backend' } });
    expect(outcome.payload).toMatchObject({
      command: 'create',
      reference: `MedicationRequest/${id}`,
      version: 1,
      etag: 'W/"1"',
      repeated: false,
      medicationRequestId: id,
    });
    const steps: Array<[string, string]> = [
      ['approve', ehr],
      ['process', pharmacy],
      ['dispense', pharmacy],
      ['complete', pharmacy],
    ];
    for (const [index, [command, token]] of steps.entries()) {
      const sent = await send({ command, prescriptionId: id, ifMatch: `W/"${index + 1}"`, reason: `${command} over the bus` }, { token });
      const [accepted] = await outcomeOf(sent.id);
      expect(accepted.metadata.eventType, JSON.stringify(accepted.payload)).toBe('eprescribing.command.accepted.v1');
      expect(accepted.payload).toMatchObject({ commandId: sent.id, command, reference: `MedicationRequest/${id}`, version: index + 2 });
    }
    const read = await request(`${t.url}/fhir/MedicationRequest/${id}`, { token: ehr });
    expect(read.body.meta.versionId).toBe('5');
    expect(read.body.status).toBe('completed');
    // The same history as HTTP's: every transition recorded with its actor.
    const [row] = await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM medication_request_history WHERE id = $1 AND transition IS NOT NULL`, [id]);
    expect(row.n).toBe(5);
  });

  it('acts once on a command id sent twice, within JetStream’s duplicate window and after it, emitting the first outcome again', async () => {
    const { id } = await create();
    const command = { command: 'approve', prescriptionId: id };
    const commandId = randomUUID();
    // Twice at once: JetStream keeps one.
    const acks = await Promise.all([send(command, { id: commandId }), send(command, { id: commandId })]);
    expect(acks.map((a) => a.duplicate).sort()).toEqual([false, true]);
    const [first] = await outcomeOf(commandId);
    expect(first.payload).toMatchObject({ command: 'approve', reference: `MedicationRequest/${id}`, version: 2, repeated: false });
    // Past the window (100 ms here) JetStream keeps the repeat; the gateway's record of command ids then answers it.
    let repeat = await send(command, { id: commandId });
    while (repeat.duplicate) repeat = await send(command, { id: commandId });
    const [, again] = await outcomeOf(commandId, 2);
    expect(again.metadata.eventType).toBe('eprescribing.command.accepted.v1');
    expect(again.metadata.eventId).not.toBe(first.metadata.eventId);
    expect(again.payload).toMatchObject({ commandId, command: 'approve', reference: first.payload.reference, version: 2, repeated: true });
    const read = await request(`${t.url}/fhir/MedicationRequest/${id}`, { token: ehr });
    expect(read.body.meta.versionId).toBe('2');
    const rows = await t.sql<{ outcome: string; version: number }>(
      `SELECT outcome, version FROM bus_commands WHERE tenant_id = 'tenant-a' AND command_id = $1`,
      [commandId],
    );
    expect(rows).toEqual([{ outcome: 'accepted', version: 2 }]);
  });

  it('a payer’s approve over the bus moves a prior authorization (CONTRACT §9, §11); the same command id twice acts once', async () => {
    const { id } = await create();
    const payer = await t.token('tenant-a', 'payer-backend');
    const submitted = await graphql(t.url, SubmitPriorAuthorizationDocument, { prescriptionId: id }, ehr);
    const paId = submitted.data!.submitPriorAuthorization.id;
    const review = await send({ command: 'review', priorAuthorizationId: paId, ifMatch: 'W/"1"' }, { token: payer });
    expect((await outcomeOf(review.id))[0].payload).toMatchObject({ command: 'review', reference: `Task/${paId}`, version: 2, etag: 'W/"2"' });
    // The EHR may not decide: the same persona rules as HTTP.
    const forbidden = await send({ command: 'approve', priorAuthorizationId: paId }, { token: ehr });
    expect((await outcomeOf(forbidden.id))[0].payload).toMatchObject({ command: 'approve', code: 'FORBIDDEN_WRITE_PERSONA' });

    const commandId = randomUUID();
    const command = { command: 'approve', priorAuthorizationId: paId, reason: 'meets criteria' };
    const acks = await Promise.all([send(command, { id: commandId, token: payer }), send(command, { id: commandId, token: payer })]);
    expect(acks.map((a) => a.duplicate).sort()).toEqual([false, true]);
    const [first] = await outcomeOf(commandId);
    expect(first.payload).toMatchObject({ command: 'approve', reference: `Task/${paId}`, version: 3, repeated: false });
    let repeat = await send(command, { id: commandId, token: payer });
    while (repeat.duplicate) repeat = await send(command, { id: commandId, token: payer });
    const [, again] = await outcomeOf(commandId, 2);
    expect(again.payload).toMatchObject({ reference: `Task/${paId}`, version: 3, repeated: true });
    const read = await graphql(t.url, PriorAuthorizationDocument, { id: paId }, payer);
    expect(read.data?.priorAuthorization).toMatchObject({ state: 'APPROVED', etag: 'W/"3"' });
    expect(read.data!.priorAuthorization!.transitions.filter((tr) => tr.event === 'approve')).toHaveLength(1);
  });

  it('rejects a forged token with UNAUTHENTICATED, under the subject’s tenant', async () => {
    const forged = await signToken(
      { sub: 'mallory', tenant: 'tenant-a', persona: 'ehr-backend' },
      { expiresIn: 600, key: new TextEncoder().encode('not-the-secret') },
    );
    const sent = await send({ command: 'create', resource: prescription() }, { token: forged });
    const [rejected] = await outcomeOf(sent.id);
    expect(rejected.metadata).toMatchObject({ eventType: 'eprescribing.command.rejected.v1', tenantId: 'tenant-a' });
    expect(rejected.payload).toMatchObject({ commandId: sent.id, command: 'create', code: 'UNAUTHENTICATED' });
    expect(rejected.payload.resource.issue[0].details.coding[0]).toEqual({ system: 'urn:rxgate:error-code', code: 'UNAUTHENTICATED' });
    // An unproven sender does not spend the command id.
    expect(await t.sql(`SELECT 1 FROM bus_commands WHERE command_id = $1`, [sent.id])).toEqual([]);
  });

  it('rejects a token of another tenant than the subject’s with TENANT_ISOLATION_VIOLATION', async () => {
    const { id } = await create();
    const sent = await send({ command: 'cancel', prescriptionId: id }, { token: await t.token('tenant-b', 'ehr-backend') });
    const [rejected] = await outcomeOf(sent.id);
    expect(rejected.metadata).toMatchObject({ eventType: 'eprescribing.command.rejected.v1', tenantId: 'tenant-a' });
    expect(rejected.payload).toMatchObject({ command: 'cancel', code: 'TENANT_ISOLATION_VIOLATION' });
    expect((await request(`${t.url}/fhir/MedicationRequest/${id}`, { token: ehr })).body.meta.versionId).toBe('1');
  });

  it('rejects a persona breach (the pharmacy approves) with FORBIDDEN_WRITE_PERSONA, and an illegal move with INVALID_TRANSITION', async () => {
    const { id } = await create();
    const breach = await send({ command: 'approve', prescriptionId: id }, { token: pharmacy });
    const [forbidden] = await outcomeOf(breach.id);
    expect(forbidden.payload).toMatchObject({ command: 'approve', code: 'FORBIDDEN_WRITE_PERSONA' });
    expect(forbidden.metadata.actor).toEqual({ sub: 'pharmacy-backend-user', persona: 'pharmacy-backend' });

    const illegal = await send({ command: 'complete', prescriptionId: id }, { token: pharmacy });
    const [invalid] = await outcomeOf(illegal.id);
    expect(invalid.payload).toMatchObject({ command: 'complete', code: 'INVALID_TRANSITION' });
    expect(invalid.payload.message).toContain("'requested'");
    expect((await request(`${t.url}/fhir/MedicationRequest/${id}`, { token: ehr })).body.meta.versionId).toBe('1');
    // A rejection is a first outcome too: the same id again is answered with it, even once the move became legal.
    await outcomeOf((await send({ command: 'approve', prescriptionId: id })).id);
    let repeat = await send({ command: 'approve', prescriptionId: id }, { id: breach.id });
    while (repeat.duplicate) repeat = await send({ command: 'approve', prescriptionId: id }, { id: breach.id });
    const [, again] = await outcomeOf(breach.id, 2);
    expect(again.payload).toMatchObject({ code: 'FORBIDDEN_WRITE_PERSONA', repeated: true });
  });

  it('dead-letters what is not a command (not JSON, not a command, no Authorization) with the reason, and acknowledges it', async () => {
    const garbage = await send(undefined, { raw: '{"command": "approve", "prescriptionId": ' });
    const unknown = await send({ command: 'expire', prescriptionId: randomUUID() });
    const extra = await send({ command: 'approve', prescriptionId: randomUUID(), priority: 'stat' });
    const anonymous = await send({ command: 'approve', prescriptionId: randomUUID() }, { token: null });
    const seqs = [garbage.seq, unknown.seq, extra.seq, anonymous.seq];
    const letters = await deadLetters.until((l) => seqs.includes(l.envelope.event?.seq), 4);
    const reasonOf = (seq: number) => letters.find((l) => l.envelope.event?.seq === seq)?.envelope;
    expect(reasonOf(garbage.seq)).toMatchObject({
      handler: 'rxgate-commands',
      commandId: garbage.id,
      event: { subject: 'cmd.eprescribing.tenant-a' },
      error: 'the body is not JSON',
      attempts: 1,
    });
    expect(reasonOf(garbage.seq).deadLetterId).toEqual(expect.any(String));
    expect(reasonOf(garbage.seq).event.body).toBe('{"command": "approve", "prescriptionId": ');
    expect(reasonOf(unknown.seq).error).toMatch(/command "expire" is not one of create, approve/);
    expect(reasonOf(extra.seq).error).toMatch(/'priority'/);
    expect(reasonOf(anonymous.seq).error).toMatch(/no Authorization header/);
    expect(letters.every((l) => l.subject === 'dlq.eprescribing.commands.tenant-a')).toBe(true);
    // The token never reaches the dead-letter stream.
    expect(reasonOf(unknown.seq).event.headers).not.toHaveProperty('authorization');
    // Acknowledged once, never delivered again; the door goes on with the next command.
    await create();
    const consumer = await jsm.consumers.info(commandsStream(), 'rxgate-commands');
    expect(consumer.ack_floor.stream_seq).toBeGreaterThanOrEqual(anonymous.seq);
    expect(consumer.num_redelivered).toBe(0);
    expect(deadLetters.received.filter((l) => seqs.includes(l.envelope.event?.seq))).toHaveLength(4);
    expect(outcomes.received.filter((r) => [garbage.id, unknown.id, extra.id, anonymous.id].includes(r.envelope.payload.commandId))).toEqual([]);
  });

  it('delivers a command that fails unexpectedly again, a bounded number of times, then dead-letters it (never a rejection)', async () => {
    await t.sql('ALTER TABLE bus_commands RENAME TO bus_commands_away');
    let sent;
    try {
      sent = await send({ command: 'create', resource: prescription() });
      const [letter] = await deadLetters.until((l) => l.envelope.event?.seq === sent!.seq);
      expect(letter.envelope).toMatchObject({ commandId: sent.id, attempts: 2 });
      expect(letter.envelope.error).toMatch(/failed unexpectedly on each of 2 deliveries; last error: .*bus_commands/);
    } finally {
      await t.sql('ALTER TABLE bus_commands_away RENAME TO bus_commands');
    }
    // Nothing took effect and no outcome was emitted for it; the next command goes through.
    await create();
    expect(outcomes.received.filter((r) => r.envelope.payload.commandId === sent.id)).toEqual([]);
  });
});

describe.skipIf(natsUrl)('commands over the bus in embedded mode', () => {
  const t = useTestApp();

  it('has no door: no commands consumer runs (there is no stream to give a publisher a PubAck)', async () => {
    const metrics = await fetch(`${t.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/rxgate_stream_consumer_lag_messages\{consumer="rxgate-workflow-actions"\}/);
    expect(metrics).not.toMatch(/consumer="rxgate-commands"/);
  });
});
