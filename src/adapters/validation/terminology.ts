import { readFile } from 'node:fs/promises';
import { ATC_SYSTEM, RXNORM_SYSTEM } from '../../domain/index.js';
import { type CodeCheck, type TerminologyClient, TerminologyUnavailableError } from '../../ports/index.js';

/** ATC codes by level: C, C09, C09A, C09AA, C09AA03 (WHO ATC structure). */
const ATC_CODE = /^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$/;

/** An RxNorm concept id (RxCUI) is a number. */
const RXCUI = /^[1-9][0-9]{0,8}$/;

/**
 * The default terminology, offline: RxNorm codes must be RxCUIs and ATC codes must have the ATC
 * structure (no licensed ATC list is shipped). `data/rxnorm-codes.json` holds the prescribable
 * RxNorm concepts rxgate ships; it is a subset of RxNorm, so by default a well-formed code outside
 * it is accepted, and with `strict` it is refused. Full RxNorm checking is the remote adapter's job.
 */
export async function createLocalTerminology(rxnormFile: string, options: { strict?: boolean } = {}): Promise<TerminologyClient> {
  const entries = JSON.parse(await readFile(rxnormFile, 'utf8')) as Array<{ code: string }>;
  const rxnorm = new Set(entries.map((e) => e.code));
  return {
    async check(system, code): Promise<CodeCheck | undefined> {
      if (system === RXNORM_SYSTEM) {
        if (!RXCUI.test(code)) return { valid: false, message: `'${code}' is not an RxNorm concept id (RxCUIs are numbers, e.g. 314076).` };
        if (options.strict && !rxnorm.has(code))
          return { valid: false, message: `RxNorm code '${code}' is not one of the prescribable concepts this gateway knows.` };
        return { valid: true };
      }
      if (system === ATC_SYSTEM) return ATC_CODE.test(code) ? { valid: true } : { valid: false, message: `'${code}' is not an ATC code (e.g. C09AA03).` };
      return undefined;
    },
  };
}

/**
 * A FHIR terminology server: `GET {base}/CodeSystem/$validate-code?system=…&code=…` answering a
 * Parameters resource with `result` (FHIR R4 codesystem-operation-validate-code). Any failure to get
 * an answer (network, timeout, 5xx, unreadable reply) is `TerminologyUnavailableError`.
 */
export function createRemoteTerminology(options: { baseUrl: string; timeoutMs?: number; systems?: string[] }): TerminologyClient {
  const systems = options.systems ?? [RXNORM_SYSTEM, ATC_SYSTEM];
  const base = options.baseUrl.replace(/\/+$/, '');
  return {
    async check(system, code): Promise<CodeCheck | undefined> {
      if (!systems.includes(system)) return undefined;
      const url = `${base}/CodeSystem/$validate-code?${new URLSearchParams({ system, code })}`;
      let parameters: fhir4.Parameters;
      try {
        const response = await fetch(url, { headers: { accept: 'application/fhir+json' }, signal: AbortSignal.timeout(options.timeoutMs ?? 3_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        parameters = (await response.json()) as fhir4.Parameters;
      } catch (error) {
        throw new TerminologyUnavailableError(`terminology server ${base} did not answer: ${(error as Error).message}`);
      }
      const result = parameters.parameter?.find((p) => p.name === 'result')?.valueBoolean;
      if (result === undefined) throw new TerminologyUnavailableError(`terminology server ${base} answered without a result`);
      const message = parameters.parameter?.find((p) => p.name === 'message')?.valueString;
      return result ? { valid: true } : { valid: false, message: message ?? `'${code}' is not a valid code of ${system}.` };
    },
  };
}
