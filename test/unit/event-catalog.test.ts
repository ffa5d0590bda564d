import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { createBusIntegrations } from '../../src/adapters/events/bus-integrations.js';
import { canonicalize } from '../../src/application/idempotency.js';
import { PROJECT_ROOT } from '../../src/config.js';
import {
  buildEvent,
  type ChannelDefinition,
  EVENT_CATALOG,
  EVENT_METADATA_SCHEMA,
  EVENT_TYPES,
  type EventDefinition,
  INTEGRATION_CHANNELS,
  type JsonSchema,
} from '../../src/domain/index.js';
import type { BusMessage, EventBus, IntegrationNotice } from '../../src/ports/index.js';
import { buildAsyncApiDocument } from '../../src/transport/events/asyncapi-document.js';
import { createMessageValidator, parseBody } from '../support/event-schemas.js';

const catalogue = EVENT_CATALOG as Record<string, EventDefinition>;
const document = buildAsyncApiDocument({ version: '0.0.0-test' });
const validator = createMessageValidator(document);

/** The AsyncAPI 3.0.0 JSON Schema; it bundles the draft-07 meta-schema, so Ajv's own is left out. */
function asyncApiSchemaValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false, validateFormats: false });
  return ajv.compile(specs.schemas['3.0.0']);
}

/** Every `$ref` of a document, with where it sits. */
function refsOf(node: unknown, at = '#'): Array<{ at: string; ref: string }> {
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) => (key === '$ref' && typeof value === 'string' ? [{ at, ref: value }] : refsOf(value, `${at}/${key}`)));
}

const resolve = (root: unknown, pointer: string): unknown =>
  pointer
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined), root);

/**
 * A schema without its annotations (description, title, examples): what a consumer's validation
 * sees. Property names are kept whatever they are called.
 */
function validationPart(schema: unknown, inProperties = false): unknown {
  if (Array.isArray(schema)) return schema.map((item) => validationPart(item));
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => inProperties || !['description', 'title', 'examples', '$comment'].includes(key))
      .map(([key, value]) => [key, validationPart(value, !inProperties && (key === 'properties' || key === 'patternProperties'))]),
  );
}
const fingerprint = (schema: JsonSchema) =>
  createHash('sha256')
    .update(canonicalize(validationPart(schema)) ?? '')
    .digest('hex')
    .slice(0, 16);

/** Fingerprints of every published schema version; see the test below before changing one. */
const LOCK_FILE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'event-schema-fingerprints.json');

describe('event catalogue', () => {
  it('gives every event type of EVENT_TYPES a payload schema, under its own name', () => {
    const emitted = Object.entries(EVENT_TYPES);
    expect(emitted.length).toBeGreaterThanOrEqual(8);
    for (const [name, type] of emitted) {
      expect(catalogue[type], `${type} has no catalogue entry`).toBeDefined();
      expect(catalogue[type].name).toBe(name);
      expect(catalogue[type].announced).toBeUndefined();
      expect(catalogue[type].payload.type).toBe('object');
    }
  });

  it('names every type as a versioned subject token, and no name twice', () => {
    for (const type of Object.keys(catalogue)) expect(type).toMatch(/^eprescribing\.[a-z_]+\.[a-z_]+\.v[1-9][0-9]*$/);
    const names = Object.values(catalogue).map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('catalogues the types CONTRACT §7, §9 and §11 add', () => {
    expect(Object.keys(catalogue)).toEqual(
      expect.arrayContaining([
        'eprescribing.medication_request.sla_breached.v1',
        'eprescribing.medication_request.expired.v1',
        'eprescribing.prior_authorization.status_changed.v1',
        'eprescribing.prior_authorization.deadline_breached.v1',
        'eprescribing.command.accepted.v1',
        'eprescribing.command.rejected.v1',
      ]),
    );
  });

  it('never edits a published schema: a change is a new version', () => {
    const lock = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as Record<string, string>;
    const current: Record<string, string> = {
      'envelope.metadata.schemaVersion.1': fingerprint(EVENT_METADATA_SCHEMA),
      // Announced types are not published yet: their schema may still change.
      ...Object.fromEntries(
        Object.entries(catalogue)
          .filter(([, d]) => !d.announced)
          .map(([type, d]) => [type, fingerprint(d.payload)]),
      ),
      ...Object.fromEntries(
        Object.entries(INTEGRATION_CHANNELS as Record<string, ChannelDefinition>)
          .filter(([, c]) => !c.announced)
          .map(([subject, c]) => [subject, fingerprint({ payload: c.payload, headers: c.headers ?? {} })]),
      ),
    };
    const changed = Object.keys(lock).filter((key) => key in current && lock[key] !== current[key]);
    const removed = Object.keys(lock).filter((key) => !(key in current));
    const added = Object.keys(current).filter((key) => !(key in lock));
    expect(
      { changed, removed, added: added.map((key) => `"${key}": "${current[key]}"`) },
      `A published schema version is never edited or removed: publish the change as a new version (….v2, a new catalogue entry) ` +
        `and keep the old one while anything publishes it. A new entry gets its fingerprint in ${path.relative(PROJECT_ROOT, LOCK_FILE)} (as listed under 'added').`,
    ).toEqual({ changed: [], removed: [], added: [] });
  });
});

describe('AsyncAPI document', () => {
  it('validates against the AsyncAPI 3.0.0 JSON Schema', () => {
    const validate = asyncApiSchemaValidator();
    expect(validate(document), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    expect(document.asyncapi).toBe('3.0.0');
  });

  it('is refused by that schema when it is broken (the check can fail)', () => {
    const validate = asyncApiSchemaValidator();
    const broken = structuredClone(document) as { operations: Record<string, Record<string, unknown>> };
    delete Object.values(broken.operations)[0].action;
    expect(validate(broken)).toBe(false);
  });

  it('resolves every $ref inside the document', () => {
    const refs = refsOf(document);
    expect(refs.length).toBeGreaterThan(50);
    for (const { at, ref } of refs) {
      expect(ref, at).toMatch(/^#\//);
      expect(resolve(document, ref), `${at} → ${ref}`).toBeDefined();
    }
  });

  it("describes each address parameter, and only those; each operation sends or receives its channel's message", () => {
    const channels = document.channels as Record<string, { address: string; parameters: Record<string, unknown>; messages: Record<string, unknown> }>;
    for (const [id, channel] of Object.entries(channels)) {
      const named = [...channel.address.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      expect(Object.keys(channel.parameters).sort(), id).toEqual(named);
    }
    for (const [id, operation] of Object.entries(document.operations as Record<string, { channel: { $ref: string }; messages: Array<{ $ref: string }> }>)) {
      for (const message of operation.messages) expect(message.$ref.startsWith(`${operation.channel.$ref}/messages/`), id).toBe(true);
    }
  });

  it('has a channel for every catalogued type, integration subject, the dead letters and the commands', () => {
    const addresses = Object.values(document.channels as Record<string, { address: string }>).map((c) => c.address);
    for (const type of Object.keys(catalogue)) expect(addresses).toContain(`${type}.{tenantId}`);
    for (const subject of Object.keys(INTEGRATION_CHANNELS)) expect(addresses).toContain(subject);
    expect(addresses).toEqual(expect.arrayContaining(['dlq.eprescribing.{handler}.{tenantId}', 'cmd.eprescribing.{tenantId}']));
  });
});

describe('message validation against the document', () => {
  const ctx = { tenantId: 'tenant-a', actor: { sub: 'alice', persona: 'ehr-backend' as const }, correlationId: 'c-1' };
  const prescription = { resourceType: 'MedicationRequest', id: 'mr-1', meta: { versionId: '2', lastUpdated: '2026-01-01T00:00:00.000Z' } };
  const statusChanged = () =>
    buildEvent(
      ctx,
      EVENT_TYPES.medicationRequestStatusChanged,
      {
        resource: prescription,
        event: 'approve',
        from: 'requested',
        to: 'approved',
        reason: null,
        medicationRequestId: 'mr-1',
        patientId: 'p-1',
        pharmacyId: null,
      },
      { eventId: '0b7c5a55-8d38-4a4e-9b7b-2f3c3a1d9e10', timestamp: new Date('2026-01-01T00:00:00Z') },
    );
  const seen = (subject: string, body: unknown) => ({ subject, body, source: 'test' });

  it('accepts an event built by the domain, on its subject', () => {
    expect(validator.problemsOf(seen('eprescribing.medication_request.status_changed.v1.tenant-a', statusChanged()))).toEqual([]);
  });

  it('refuses a payload missing a field, another type on the subject, another tenant, an unknown subject and a body that is not JSON', () => {
    const missing = statusChanged();
    delete missing.payload.to;
    expect(validator.problemsOf(seen('eprescribing.medication_request.status_changed.v1.tenant-a', missing)).join()).toMatch(
      /\/payload must have required property 'to'/,
    );
    expect(validator.problemsOf(seen('eprescribing.medication_request.updated.v1.tenant-a', statusChanged())).join()).toMatch(
      /\/metadata\/eventType must be equal to constant/,
    );
    expect(validator.problemsOf(seen('eprescribing.medication_request.status_changed.v1.tenant-b', statusChanged())).join()).toMatch(
      /not the subject's tenant/,
    );
    expect(validator.problemsOf(seen('eprescribing.prescription.changed.v1.tenant-a', statusChanged())).join()).toMatch(/no channel/);
    expect(validator.problemsOf(seen('integration.insurance.approval.v1', parseBody('not json'))).join()).toMatch(/must be object/);
  });

  it('accepts a command of each form of CONTRACT §11 and refuses one naming no target', () => {
    const subject = 'cmd.eprescribing.tenant-a';
    expect(validator.problemsOf(seen(subject, { command: 'approve', prescriptionId: 'mr-1', ifMatch: 'W/"1"' }))).toEqual([]);
    expect(validator.problemsOf(seen(subject, { command: 'deny', priorAuthorizationId: 'pa-1', reason: 'not covered' }))).toEqual([]);
    expect(validator.problemsOf(seen(subject, { command: 'create', resource: { resourceType: 'MedicationRequest' } }))).toEqual([]);
    expect(validator.problemsOf(seen(subject, { command: 'approve' }))).not.toEqual([]);
  });

  it('covers every subject the bus integrations publish, with a valid notice, and marks the others announced', async () => {
    const published: BusMessage[] = [];
    const bus = { publish: async (message: BusMessage) => (published.push(message), { seq: published.length, duplicate: false }) } as unknown as EventBus;
    const notice: IntegrationNotice = {
      eventId: '0b7c5a55-8d38-4a4e-9b7b-2f3c3a1d9e10',
      tenantId: 'tenant-a',
      medicationRequestId: 'mr-1',
      patientId: 'p-1',
      pharmacyId: null,
      event: 'approve',
      from: 'requested',
      to: 'approved',
      reason: null,
      occurredAt: '2026-01-01T00:00:00.000Z',
      correlationId: 'c-1',
      prescription,
    };
    // Every method of every port, whatever the adapter offers now or later.
    const ports = Object.values(createBusIntegrations(bus) as unknown as Record<string, Record<string, (n: IntegrationNotice) => Promise<void>>>);
    for (const port of ports) for (const send of Object.values(port)) await send(notice);
    for (const message of published) expect(validator.problemsOf(seen(message.subject, parseBody(message.data))), message.subject).toEqual([]);
    // Exactly the subjects not marked announced: once the adapter sends one, its mark must go.
    const inUse = Object.entries(INTEGRATION_CHANNELS as Record<string, ChannelDefinition>)
      .filter(([, c]) => !c.announced)
      .map(([subject]) => subject);
    expect([...new Set(published.map((m) => m.subject))].sort()).toEqual(inUse.sort());
  });
});
