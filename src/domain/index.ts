export * from './errors.js';
export * from './events.js';
export * from './fhir.js';
export * from './identity.js';
export * from './medication-request.js';
export * from './permissions.js';
export * from './transition.js';
export * from './workflow.js';
