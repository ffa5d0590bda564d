export { ACCEPTING_VALIDATOR, fhirSchemaValidator, createFakeClock, createFakeDeps, createFakeTerminology, createMemoryActionLedger, createRecordingIntegrations, contextOf, type FakeClock, type FakeDeps } from './fake-deps.js';
export { createMemoryUnitOfWork, type MemoryUnitOfWork } from './memory-unit-of-work.js';
export { createMemoryEventBus } from '../memory-event-bus.js';
export { codeOf, createPrescription, PATH_TO, prescriptionIn, send, SENDER, stored } from './prescriptions.js';
