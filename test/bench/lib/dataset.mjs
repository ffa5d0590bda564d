// The benchmark's data: real (synthetic Synthea) MedicationRequests from test/bench/data, completed
// with a directory pharmacy and a quantity, given deterministic ids so that pgbench can pick an
// existing prescription or patient from an integer without a lookup, and bulk-loaded through the
// gateway's own stores (their INSERTs, batched into multi-row statements).
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const uuidOf = (seed) => {
  const h = createHash('md5').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** Pre-loaded prescription k (1-based) and patient j (1-based); SQL twins for the pgbench scripts. */
export const requestId = (k) => uuidOf(`mr-${k}`);
export const patientId = (j) => uuidOf(`pt-${j}`);
export const SQL_IDS = {
  request: (variable) => `CAST(CAST(md5('mr-' || CAST(:${variable} AS text)) AS uuid) AS text)`,
  patient: (variable) => `CAST(CAST(md5('pt-' || CAST(:${variable} AS text)) AS uuid) AS text)`,
};

/**
 * The source requests, less those of controlled substances (data/controlled-substances.json): the
 * benchmark measures the gateway, not the prescribing rules, and the synthetic requests of controlled
 * medications (refills, authoredOn years ago) are refused by them (CONTRACT §8).
 */
export function readSource(root) {
  const controlled = new Set(JSON.parse(readFileSync(path.join(root, 'data/controlled-substances.json'), 'utf8')).map((c) => c.code));
  const text = readFileSync(path.join(root, 'test/bench/data/medication-requests.ndjson'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line))
    .filter((r) => !(r.medicationCodeableConcept?.coding ?? []).some((c) => controlled.has(c.code)));
}

export function readPharmacies(root) {
  return JSON.parse(readFileSync(path.join(root, 'data/pharmacies.json'), 'utf8')).map((o) => o.id);
}

/** As test/support/fixtures.ts `prescription()`: the source has no pharmacy or quantity. */
export function completePrescription(source, { patient, pharmacy }) {
  const { id: _id, ...rest } = source;
  return {
    ...rest,
    subject: { reference: `Patient/${patient}` },
    dispenseRequest: { performer: { reference: `Organization/${pharmacy}` }, quantity: { value: 30, unit: 'tablet' }, numberOfRepeatsAllowed: 1 },
  };
}

/**
 * The plan of the pre-loaded set: copy r of source row s gets patient index by first appearance of
 * (r, source patient), so patients are 1..patients with the source's requests per patient, and each
 * patient one directory pharmacy.
 */
export function planDataset(source, pharmacies, count) {
  const patientIndex = new Map();
  const rows = new Array(count);
  const perPharmacy = new Map();
  for (let n = 0; n < count; n++) {
    const row = source[n % source.length];
    const key = `${Math.floor(n / source.length)}|${row.subject.reference}`;
    let j = patientIndex.get(key);
    if (j === undefined) patientIndex.set(key, (j = patientIndex.size + 1));
    const pharmacy = pharmacies[(j * 7919) % pharmacies.length];
    perPharmacy.set(pharmacy, (perPharmacy.get(pharmacy) ?? 0) + 1);
    rows[n] = { k: n + 1, source: row, patient: j, pharmacy };
  }
  return { rows, patients: patientIndex.size, perPharmacy };
}

/** Turns one-row `INSERT … VALUES (…)` statements into one statement for many rows. */
function batchInsert(sql, rows) {
  const match = /^([\s\S]*?\bVALUES\s*)(\([\s\S]*?\))(\s*(?:ON CONFLICT|RETURNING)[\s\S]*)?$/i.exec(sql.trim());
  if (!match) throw new Error(`cannot batch this statement of the store: ${sql}`);
  const [, head, tuple, tail = ''] = match;
  const width = rows[0].length;
  const tuples = rows.map((_, i) => tuple.replace(/\$(\d+)/g, (_m, n) => `$${Number(n) + i * width}`));
  return { text: `${head}${tuples.join(',')}${tail}`, values: rows.flat() };
}

/**
 * Loads the planned rows as the create use-case writes them (version 1, state `requested`, its first
 * history version with the `request` transition), through the app's stores from dist/. Secondary
 * indexes are dropped during the load and rebuilt after; row triggers are skipped (replica role).
 */
export async function loadDataset({ pool, root, plan, tenant, onProgress }) {
  const dist = (file) => import(pathToFileURL(path.join(root, 'dist/src', file)).href);
  const domain = await dist('domain/index.js');
  const { createMedicationRequestStore } = await dist('adapters/db/medication-request.store.js');
  const { createHistoryStore } = await dist('adapters/db/scope.store.js');

  const start = Date.now() - plan.rows.length * 1000;
  const statementsOf = async (row) => {
    const lastUpdated = new Date(start + row.k * 1000);
    const id = requestId(row.k);
    const input = completePrescription(row.source, { patient: patientId(row.patient), pharmacy: row.pharmacy });
    const record = {
      id,
      tenantId: tenant,
      versionId: 1,
      lastUpdated,
      workflowStatus: domain.INITIAL_STATE,
      workflowVersion: domain.CURRENT_PRESCRIPTION_WORKFLOW.version,
      resource: domain.materializeMedicationRequest(input, { id, versionId: 1, lastUpdated, workflowStatus: domain.INITIAL_STATE }),
    };
    // A manager that records instead of running: the stores' own SQL and parameters for this row.
    const calls = [];
    // The stores take repositories for their reads; the loader only runs their INSERTs.
    const manager = {
      query: async (text, values) => {
        calls.push({ text, values });
        return [];
      },
      getRepository: () => ({}),
    };
    await createMedicationRequestStore(manager, tenant).insert(record);
    await createHistoryStore(manager, tenant).append({
      record,
      transition: {
        event: 'request',
        from: null,
        to: domain.INITIAL_STATE,
        actor: 'bench-loader',
        persona: 'ehr-backend',
        reason: null,
        at: lastUpdated,
        correlationId: randomUUID(),
      },
    });
    return calls;
  };

  const probe = await statementsOf(plan.rows[0]);
  const tables = probe.map((c) => /INSERT INTO\s+"?(\w+)"?/i.exec(c.text)?.[1]).filter(Boolean);
  const client = await pool.connect();
  let indexes;
  try {
    indexes = (
      await client.query(
        `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
        [tables],
      )
    ).rows;
    for (const index of indexes) await client.query(`DROP INDEX ${index.name}`);
  } finally {
    client.release();
  }

  const BATCH = 1000;
  let loaded = 0;
  const batches = [];
  for (let i = 0; i < plan.rows.length; i += BATCH) batches.push(plan.rows.slice(i, i + BATCH));
  const worker = async () => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      const byText = new Map();
      for (const row of batch)
        for (const call of await statementsOf(row)) (byText.get(call.text) ?? byText.set(call.text, []).get(call.text)).push(call.values);
      for (const [text, rows] of byText) await pool.query(batchInsert(text, rows));
      loaded += batch.length;
      onProgress?.(loaded);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  for (const index of indexes) await pool.query(index.def);
  // As an aged table would be: statistics, and a visibility map for index-only scans (counts).
  for (const table of new Set(tables)) await pool.query(`VACUUM (ANALYZE) ${table}`);
  return { tables: [...new Set(tables)], indexes: indexes.length };
}
