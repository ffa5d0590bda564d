export { createMemoryEventBus } from '../memory-event-bus.js';
export {
  ACCEPTING_VALIDATOR,
  contextOf,
  createFakeClock,
  createFakeDeps,
  createFakeTerminology,
  createMemoryActionLedger,
  createRecordingIntegrations,
  type FakeClock,
  type FakeDeps,
  fhirSchemaValidator,
} from './fake-deps.js';
export { createMemoryUnitOfWork, type MemoryUnitOfWork } from './memory-unit-of-work.js';
export { codeOf, createPrescription, PATH_TO, prescriptionIn, send, SENDER, stored } from './prescriptions.js';
