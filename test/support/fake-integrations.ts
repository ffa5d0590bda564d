import type { IntegrationNotice, Integrations } from '../../src/ports/index.js';

type Target = 'insurance' | 'insuranceReversal' | 'pharmacy' | 'pharmacyCancel' | 'patientDispensed' | 'patientCompleted' | 'support' | 'supportAlert';

/**
 * Integration adapters for tests: they record every notice they accept, and can be told to fail
 * the next N calls (or every call) — an outside system that is down, then comes back.
 */
export function fakeIntegrations() {
  const targets: Target[] = ['insurance', 'insuranceReversal', 'pharmacy', 'pharmacyCancel', 'patientDispensed', 'patientCompleted', 'support', 'supportAlert'];
  const delivered = Object.fromEntries(targets.map((t) => [t, []])) as unknown as Record<Target, IntegrationNotice[]>;
  const attempts = Object.fromEntries(targets.map((t) => [t, 0])) as Record<Target, number>;
  const failing = Object.fromEntries(targets.map((t) => [t, 0])) as Record<Target, number>;
  const failures: Partial<Record<Target, () => Error>> = {};
  const accept = (target: Target) => async (notice: IntegrationNotice) => {
    attempts[target]++;
    if (failing[target] > 0) {
      failing[target]--;
      throw failures[target]?.() ?? new Error(`${target} endpoint unavailable`);
    }
    delivered[target].push(notice);
  };
  const integrations: Integrations = {
    insurance: { approvalGranted: accept('insurance'), approvalReversed: accept('insuranceReversal') },
    pharmacy: { sendPrescription: accept('pharmacy'), cancelPrescription: accept('pharmacyCancel') },
    patient: { prescriptionDispensed: accept('patientDispensed'), prescriptionCompleted: accept('patientCompleted') },
    support: { prescriptionFailed: accept('support'), alert: accept('supportAlert') },
  };
  return {
    integrations,
    delivered,
    attempts,
    /** The next `count` calls to `target` throw (Infinity: until `recover`), `error()` when given. */
    fail(target: Target, count: number, error?: () => Error) {
      failing[target] = count;
      if (error) failures[target] = error;
      else delete failures[target];
    },
    recover(target: Target) {
      failing[target] = 0;
    },
  };
}
