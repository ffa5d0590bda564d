import { DomainError, FHIR_DATE_TIME } from '../domain/index.js';
import type { DateBound } from '../ports/index.js';

const PREFIXES = ['eq', 'ge', 'le', 'gt', 'lt'] as const;

/** A FHIR date parameter (search.html#date): optional prefix, then a date of any precision. */
export function parseDateParam(name: string, raw: string): DateBound {
  const prefix = PREFIXES.find((p) => raw.startsWith(p));
  const value = prefix ? raw.slice(2) : raw;
  if (!FHIR_DATE_TIME.test(value))
    throw new DomainError(
      'BAD_REQUEST',
      `Parameter '${name}' value '${raw.slice(0, 40)}' is not a FHIR date (prefix eq|ge|le|gt|lt, then YYYY[-MM[-DD[Thh:mm:ss[.sss]Z]]]).`,
    );
  const { low, high } = dateRange(value);
  return { op: prefix ?? 'eq', low, high };
}

function dateRange(value: string): { low: Date; high: Date } {
  const [y, m, d] = value.split(/[-T]/).map(Number);
  if (value.length === 4) return { low: utc(y, 0, 1), high: utc(y + 1, 0, 1) };
  if (value.length === 7) return { low: utc(y, m - 1, 1), high: utc(y, m, 1) };
  if (value.length === 10) return { low: utc(y, m - 1, d), high: utc(y, m - 1, d + 1) };
  const low = new Date(value);
  const precisionMs = /\.\d+/.test(value) ? 1 : 1000;
  return { low, high: new Date(low.getTime() + precisionMs) };
}

const utc = (y: number, m: number, d: number) => new Date(Date.UTC(y, m, d));
