import type { EventBus, IntegrationNotice, Integrations } from '../../ports/index.js';
import { traceHeaders } from '../../tracing.js';

/**
 * Default adapters of the integration ports: each hands the notice to the event bus on a subject
 * of its own, for an outside system to consume (NATS stream `<stream>_INTEGRATION`, or the
 * embedded bus). The message id is the action and event, so a repeat is dropped by the bus. The
 * `traceparent` header lets the outside system continue the trace of the action that sent it.
 */
export function createBusIntegrations(bus: EventBus): Integrations {
  const send = (subject: string, action: string) => async (notice: IntegrationNotice) => {
    await bus.publish({ subject, msgId: `${action}:${notice.eventId}`, data: Buffer.from(JSON.stringify(notice)), headers: traceHeaders() });
  };
  return {
    insurance: {
      approvalGranted: send('integration.insurance.approval.v1', 'insurance.approval'),
      approvalReversed: send('integration.insurance.reversal.v1', 'insurance.reversal'),
    },
    pharmacy: {
      sendPrescription: send('integration.pharmacy.prescription.v1', 'pharmacy.prescription'),
      cancelPrescription: send('integration.pharmacy.cancel.v1', 'pharmacy.cancel'),
    },
    patient: {
      prescriptionDispensed: send('integration.patient.dispensed.v1', 'patient.dispensed'),
      prescriptionCompleted: send('integration.patient.completed.v1', 'patient.completed'),
    },
    support: { prescriptionFailed: send('integration.support.failure.v1', 'support.failure'), alert: send('integration.support.alert.v1', 'support.alert') },
  };
}
