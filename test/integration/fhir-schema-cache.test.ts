import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFhirSchemaValidator, fhirSchemaCacheFile } from '../../src/adapters/validation/fhir-schema-validator.js';

// One generation (several seconds of CPU): the cache is met cut short, so the test covers generating,
// writing, and not trusting a partial file in one go.
describe('the FHIR R4 schema validators kept as generated code', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('are generated again over a cache file cut short, written whole, and validate as the schema says', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'rxgate-schema-cache-'));
    const file = fhirSchemaCacheFile(dir);
    await writeFile(file, '"use strict";exports.MedicationRequest = validate1;function validate1(data, {instancePath=""');

    const validator = createFhirSchemaValidator({ cacheDir: dir });
    const issues = validator.validate('MedicationRequest', {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      colour: 'blue',
      authoredOn: '2026-13-45',
      subject: { reference: 'Patient/p1' },
      medicationCodeableConcept: { text: 'amoxicillin' },
      contained: [{ resourceType: 'Patient', id: 'p1', gender: 7 }],
      dosageInstruction: [{ text: 'x', timing: { repeat: { frequency: 'often' } } }],
    });
    expect(issues.map((i) => i.expression)).toEqual(
      expect.arrayContaining([
        'MedicationRequest.colour',
        'MedicationRequest.authoredOn',
        'MedicationRequest.dosageInstruction[0].timing.repeat.frequency',
        'MedicationRequest.contained[0].gender',
      ]),
    );
    expect(issues.find((i) => i.expression === 'MedicationRequest.authoredOn')?.diagnostics).toBe('MedicationRequest.authoredOn is not a valid FHIR dateTime.');
    expect(validator.validate('Task', { resourceType: 'Task', status: 'requested', intent: 'order' })).toEqual([]);
    expect(validator.validate('Prescription', {})).toEqual([{ expression: 'Prescription', diagnostics: 'Prescription is not a FHIR R4 resource type.' }]);

    // Whole again: the generated module, which a later process evaluates instead of compiling.
    expect((await stat(file)).size).toBeGreaterThan(1_000_000);
    expect(await readFile(file, 'utf8')).toMatch(/exports\.MedicationRequest = /);
  });
});
