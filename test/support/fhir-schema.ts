import { expect } from 'vitest';
import { createFhirSchemaValidator } from '../../src/adapters/validation/fhir-schema-validator.js';

const validator = createFhirSchemaValidator();

/** Asserts a resource (and, for a Bundle, every entry's resource) is valid against the official FHIR R4 JSON schema. */
export function expectValidFhir(resource: any): void {
  expect(validator.validate(resource.resourceType, resource), `${resource.resourceType}/${resource.id ?? ''}`).toEqual([]);
  for (const entry of resource.entry ?? []) if (entry.resource) expectValidFhir(entry.resource);
  for (const contained of resource.contained ?? []) expectValidFhir(contained);
}
