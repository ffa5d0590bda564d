import type { IntegrationNotice, Integrations } from '../../src/ports/index.js';

type Target = 'insurance' | 'pharmacy' | 'patientDispensed' | 'patientCompleted' | 'support';

/**
 * Integration adapters for tests: they record every notice they accept, and can be told to fail
 * the next N calls (or every call) — an outside system that is down, then comes back.
 */
export function fakeIntegrations() {
  const delivered: Record<Target, IntegrationNotice[]> = { insurance: [], pharmacy: [], patientDispensed: [], patientCompleted: [], support: [] };
  const attempts: Record<Target, number> = { insurance: 0, pharmacy: 0, patientDispensed: 0, patientCompleted: 0, support: 0 };
  const failing: Record<Target, number> = { insurance: 0, pharmacy: 0, patientDispensed: 0, patientCompleted: 0, support: 0 };
  const accept = (target: Target) => async (notice: IntegrationNotice) => {
    attempts[target]++;
    if (failing[target] > 0) {
      failing[target]--;
      throw new Error(`${target} endpoint unavailable`);
    }
    delivered[target].push(notice);
  };
  const integrations: Integrations = {
    insurance: { approvalGranted: accept('insurance') },
    pharmacy: { sendPrescription: accept('pharmacy') },
    patient: { prescriptionDispensed: accept('patientDispensed'), prescriptionCompleted: accept('patientCompleted') },
    support: { prescriptionFailed: accept('support') },
  };
  return {
    integrations,
    delivered,
    attempts,
    /** The next `count` calls to `target` throw (Infinity: until `recover`). */
    fail(target: Target, count: number) {
      failing[target] = count;
    },
    recover(target: Target) {
      failing[target] = 0;
    },
  };
}
