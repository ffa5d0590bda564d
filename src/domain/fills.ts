import type { MedicationRequestResource } from './medication-request.js';

/**
 * Fills of a prescription (CONTRACT §7), always derived from the dispenses stored: a prescription
 * authorizes `1 + numberOfRepeatsAllowed` fills, each one MedicationDispense.
 */
export interface Fills {
  allowed: number;
  /** Dispenses created for the prescription (a fill counts from its dispense, not its hand-over). */
  dispensed: number;
  remaining: number;
  /** The earliest the next fill may be processed (`dispenseInterval` after the last hand-over); null when unknown or none remain. */
  nextEligible: Date | null;
  validUntil: Date | null;
}

/** What the store knows of a prescription's dispenses: how many, and the last hand-over. */
export interface FillSummary {
  count: number;
  lastHandedOver: Date | null;
}

export const FILLS_EXTENSION = 'urn:rxgate:extension:fills';

/** http://terminology.hl7.org/CodeSystem/v3-ActCode: FF first fill, RF refill (CONTRACT §7). */
export const FILL_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const fillType = (previousFills: number): fhir4.CodeableConcept => ({
  coding: [previousFills === 0 ? { system: FILL_TYPE_SYSTEM, code: 'FF', display: 'First Fill' } : { system: FILL_TYPE_SYSTEM, code: 'RF', display: 'Refill' }],
});

// UCUM units of FHIR R4 Duration (datatypes.html#Duration); a month and a year as their usual lengths.
const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  wk: 604_800_000,
  mo: 2_592_000_000,
  a: 31_536_000_000,
};

/** A FHIR Duration in milliseconds; undefined when it has no value or no known UCUM unit. */
export function durationMs(duration: fhir4.Duration | undefined): number | undefined {
  if (duration?.value === undefined) return undefined;
  const unit = UNIT_MS[duration.code ?? duration.unit ?? ''];
  return unit === undefined ? undefined : duration.value * unit;
}

export function fillsOf(allowed: number, summary: FillSummary, request: MedicationRequestResource['dispenseRequest'], validUntil: Date | null): Fills {
  const remaining = Math.max(0, allowed - summary.count);
  const interval = durationMs(request?.dispenseInterval);
  const nextEligible = remaining > 0 && interval !== undefined && summary.lastHandedOver ? new Date(summary.lastHandedOver.getTime() + interval) : null;
  return { allowed, dispensed: summary.count, remaining, nextEligible, validUntil };
}

/** The FHIR extension that shows the fills on a MedicationRequest. */
export function fillsExtension(fills: Fills): fhir4.Extension {
  return {
    url: FILLS_EXTENSION,
    extension: [
      { url: 'allowed', valueUnsignedInt: fills.allowed },
      { url: 'dispensed', valueUnsignedInt: fills.dispensed },
      { url: 'remaining', valueUnsignedInt: fills.remaining },
      ...(fills.nextEligible ? [{ url: 'nextEligible', valueDateTime: fills.nextEligible.toISOString() }] : []),
    ],
  };
}
