import { DomainError, MAX_SEARCH_VALUE_LENGTH } from '../domain/index.js';
import type { SearchPosition, SortKey } from '../ports/index.js';

const SORT_KEYS: SortKey[] = ['seq', 'authoredOn', 'lastUpdated'];

/** Opaque paging cursor: the keyset position of the last row of a page, base64url-encoded. */
export function encodeCursor(position: SearchPosition): string {
  return Buffer.from(JSON.stringify([position.sort, position.descending ? 1 : 0, position.value, position.seq])).toString('base64url');
}

export function decodeCursor(cursor: string, expected: { sort: SortKey; descending: boolean }): SearchPosition {
  const invalid = () => new DomainError('BAD_REQUEST', 'The paging cursor is not valid for this search; start again from the first page.');
  if (cursor.length > MAX_SEARCH_VALUE_LENGTH) throw invalid(); // cursors this server hands out are short
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw invalid();
  const [sort, descending, value, seq] = parsed as [unknown, unknown, unknown, unknown];
  if (!SORT_KEYS.includes(sort as SortKey) || sort !== expected.sort || Boolean(descending) !== expected.descending) throw invalid();
  if (typeof seq !== 'string' || !/^\d{1,19}$/.test(seq)) throw invalid();
  if (sort === 'seq' ? value !== null : typeof value !== 'string' || !(value === '-infinity' || !Number.isNaN(Date.parse(value)))) throw invalid();
  return { sort: sort as SortKey, descending: Boolean(descending), value: value as string | null, seq };
}
