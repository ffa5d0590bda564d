import { describe, expect, it } from 'vitest';
import { DomainError, MAX_ERROR_MESSAGE_LENGTH, tokenQueryTerm } from '../../src/domain/index.js';
import {
  assertSearchCriteria,
  assertSearchParameter,
  assertTextWithinBounds,
  MAX_ELEMENT_NAME_LENGTH,
  MAX_SEARCH_VALUE_LENGTH,
  MAX_STRING_LENGTH,
  oversizedStrings,
} from '../../src/domain/input-limits.js';

const over = (n: number) => 'x'.repeat(n + 1);
const codeOf = (fn: () => void): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as DomainError).code;
  }
  return undefined;
};

describe('oversizedStrings', () => {
  it('names every string over the bound by its FHIRPath, at any depth, and accepts one at the bound', () => {
    const resource = {
      resourceType: 'MedicationRequest',
      note: [{ text: 'short' }, { text: over(MAX_STRING_LENGTH) }],
      dispenseRequest: { performer: { display: over(MAX_STRING_LENGTH) } },
      dosageInstruction: [{ text: 'y'.repeat(MAX_STRING_LENGTH) }],
    };
    expect(oversizedStrings('MedicationRequest', resource).map((i) => i.expression)).toEqual([
      'MedicationRequest.note[1].text',
      'MedicationRequest.dispenseRequest.performer.display',
    ]);
    expect(oversizedStrings('MedicationRequest', { note: [{ text: 'y'.repeat(MAX_STRING_LENGTH) }] })).toEqual([]);
  });

  it('refuses element names over their bound without quoting them in full', () => {
    const [issue] = oversizedStrings('Task', { nested: { [over(100_000)]: 1 } });
    expect(issue.expression).toBe('Task.nested');
    expect(issue.diagnostics.length).toBeLessThan(300);
    expect(oversizedStrings('Task', { ['k'.repeat(MAX_ELEMENT_NAME_LENGTH)]: 1 })).toEqual([]);
  });

  it('stops after a bounded number of issues, and never quotes the value', () => {
    const issues = oversizedStrings('MedicationRequest', { note: Array.from({ length: 500 }, () => ({ text: over(MAX_STRING_LENGTH) })) });
    expect(issues.length).toBeLessThanOrEqual(20);
    expect(JSON.stringify(issues)).not.toContain('x'.repeat(100));
  });
});

describe('search bounds', () => {
  it('a parameter name or value over the bound is BAD_REQUEST; at the bound it passes', () => {
    expect(codeOf(() => assertSearchParameter('patient', [over(MAX_SEARCH_VALUE_LENGTH)]))).toBe('BAD_REQUEST');
    expect(codeOf(() => assertSearchParameter(over(MAX_SEARCH_VALUE_LENGTH), []))).toBe('BAD_REQUEST');
    expect(codeOf(() => assertSearchParameter('patient', ['p'.repeat(MAX_SEARCH_VALUE_LENGTH)]))).toBeUndefined();
  });

  it('criteria are checked in lists and nested objects, dates skipped, token terms measured as the caller sent them', () => {
    expect(codeOf(() => assertSearchCriteria({ statuses: ['draft', over(MAX_SEARCH_VALUE_LENGTH)] }))).toBe('BAD_REQUEST');
    expect(codeOf(() => assertSearchCriteria({ handler: over(MAX_SEARCH_VALUE_LENGTH) }))).toBe('BAD_REQUEST');
    expect(codeOf(() => assertSearchCriteria({ authoredOn: [{ op: 'ge', low: new Date(), high: new Date() }] }))).toBeUndefined();
    const atBound = 'v'.repeat(MAX_SEARCH_VALUE_LENGTH);
    expect(codeOf(() => assertSearchCriteria({ identifierTerm: tokenQueryTerm(atBound) }))).toBeUndefined();
    expect(codeOf(() => assertSearchCriteria({ identifierTerm: tokenQueryTerm(`${atBound}x`) }))).toBe('BAD_REQUEST');
  });
});

describe('texts and messages', () => {
  it('a reason over the bound is a PROFILE_VALIDATION_FAILURE at the element it lands in', () => {
    try {
      assertTextWithinBounds(over(MAX_STRING_LENGTH), 'MedicationRequest.statusReason.text');
      expect.unreachable();
    } catch (error) {
      expect((error as DomainError).code).toBe('PROFILE_VALIDATION_FAILURE');
      expect((error as DomainError).issues.map((i) => i.expression)).toEqual(['MedicationRequest.statusReason.text']);
    }
    expect(() => assertTextWithinBounds(null, 'x')).not.toThrow();
  });

  it('a DomainError message never runs past its bound, whatever it quotes', () => {
    const error = new DomainError('NOT_FOUND', `MedicationRequest/${over(100_000)} does not exist.`);
    expect(error.message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_LENGTH + 1);
  });
});
