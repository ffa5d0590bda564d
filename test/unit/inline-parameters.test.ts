import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { inlineParameters } from '../../src/adapters/db/tenant-statement.js';

describe('inlineParameters', () => {
  it("quotes every value exactly as pg's escapeLiteral does, with or without characters to escape", () => {
    const values = ['tenant-a', ['6d0c6c4e-8a52-4b47-9a0c-0d1c2e3f4a5b', 'b'], "O'Brien", 'C:\\temp', "it's \\ both", '', { a: "x'y" }, new Date(0), 42];
    const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): string } }).utils;
    for (const value of values) expect(inlineParameters('SELECT $1', [value])).toBe(`SELECT ${pg.escapeLiteral(prepareValue(value))}`);
    expect(inlineParameters('SELECT $1, $2', [null, undefined])).toBe('SELECT NULL, NULL');
  });
});
