import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every performer of a dispense as a `Type/id` reference, for the `performer` search parameter:
 * FHIR R4 lets `MedicationDispense.performer.actor` name a Practitioner, PractitionerRole,
 * Organization, Patient, Device or RelatedPerson, and a dispense may have several; `pharmacy_id`
 * kept only the first, and only when it was an Organization. Existing dispenses are backfilled from
 * their resource with the rule of `performerReferencesOf` (src/domain/medication-dispense.ts).
 */
export class DispensePerformers1763700000007 implements MigrationInterface {
  name = 'DispensePerformers1763700000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE medication_dispenses ADD COLUMN performer_refs text[] NOT NULL DEFAULT '{}'`);
    await q.query(`
      UPDATE medication_dispenses d SET performer_refs = ARRAY(
        SELECT DISTINCT p -> 'actor' ->> 'reference'
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(d.resource -> 'performer') = 'array' THEN d.resource -> 'performer' ELSE '[]'::jsonb END) AS p
        WHERE jsonb_typeof(p) = 'object'
          AND p -> 'actor' ->> 'reference' ~ '^(Practitioner|PractitionerRole|Organization|Patient|Device|RelatedPerson)/[A-Za-z0-9.-]{1,64}$')
      WHERE d.resource ? 'performer'`);
    await q.query(`CREATE INDEX medication_dispenses_performer ON medication_dispenses USING gin (performer_refs)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS medication_dispenses_performer`);
    await q.query(`ALTER TABLE medication_dispenses DROP COLUMN IF EXISTS performer_refs`);
  }
}
