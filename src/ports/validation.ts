/** Ports of validation: the implementation guide and the terminology server. */
import type { Issue } from '../domain/index.js';

/** Structure of FHIR resources against the base specification (types, cardinality, formats, unknown elements). */
export interface IgValidator {
  /** Every problem of `resource` as a `resourceType`, each with its FHIRPath; empty when valid. */
  validate(resourceType: string, resource: unknown): Issue[];
  /** Prepares the validators of these types now rather than on first use. */
  warmUp(resourceTypes: readonly string[]): void;
}

/** Answer of a terminology check for one coding. */
export type CodeCheck = { valid: true } | { valid: false; message: string };

/**
 * Checks codes against their code systems. Throws `TerminologyUnavailableError` when the
 * terminology service cannot answer (the caller decides: 503, or accept and flag).
 */
export interface TerminologyClient {
  /** `undefined` for a system this client does not check. */
  check(system: string, code: string): Promise<CodeCheck | undefined>;
}

/** The terminology service did not answer (down, timed out, an unexpected response); see {@link TerminologyClient}. */
export class TerminologyUnavailableError extends Error {
  override name = 'TerminologyUnavailableError';
}
