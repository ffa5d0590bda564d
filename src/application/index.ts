import type { AuditEntry } from '../domain/index.js';
import { audited } from './audit.js';
import type { UseCaseDeps } from './deps.js';
import { searchAuditEvents } from './use-cases/audit.use-case.js';
import { authenticate } from './use-cases/authenticate.use-case.js';
import { authorizeWrite } from './use-cases/authorize-write.use-case.js';
import { handleBusCommand } from './use-cases/bus-command.use-case.js';
import { createMedicationRequest } from './use-cases/create-medication-request.use-case.js';
import {
  createMedicationDispense,
  getMedicationDispense,
  getMedicationDispenseVersion,
  medicationDispenseHistory,
  updateMedicationDispense,
} from './use-cases/medication-dispense.use-case.js';
import { patchMedicationRequest } from './use-cases/patch-medication-request.use-case.js';
import { getPharmaciesByIds, searchPharmacies } from './use-cases/pharmacies.use-case.js';
import { prescribingRules } from './use-cases/prescribing-rules.use-case.js';
import {
  getPriorAuthorization,
  patchPriorAuthorization,
  priorAuthorizationEvent,
  priorAuthorizationsByIds,
  priorAuthorizationsOfPrescriptions,
  priorAuthorizationTransitions,
  priorAuthorizationWorkflows,
  submitPriorAuthorization,
} from './use-cases/prior-authorization.use-case.js';
import { admitRequest } from './use-cases/rate-limit.use-case.js';
import {
  getMedicationRequest,
  getMedicationRequestsByIds,
  getMedicationRequestVersion,
  medicationRequestHistory,
  medicationRequestTypeHistory,
  searchMedicationRequests,
  transitionsOf,
} from './use-cases/read-medication-requests.use-case.js';
import { dispensesOfPrescriptions, getMedicationDispensesByIds, searchMedicationDispenses, searchTasks } from './use-cases/search-by-sequence.use-case.js';
import { createSubscription, failSubscription, getSubscription, recordSubscriptionCursor, replaySubscription } from './use-cases/subscription.use-case.js';
import { createTask, getTask } from './use-cases/task.use-case.js';
import { transitionPrescription } from './use-cases/transition-prescription.use-case.js';
import { updateMedicationRequest } from './use-cases/update-medication-request.use-case.js';
import { handleWorkflowEvent, listDeadLetters, replayDeadLetter, replayDeadLetters } from './use-cases/workflow-actions.use-case.js';
import { fillsFromDispenses, prescriptionWorkflows, workflowDefinitions } from './use-cases/workflow-inspection.use-case.js';
import { fireDueTimers } from './use-cases/workflow-timers.use-case.js';

export type { UseCaseDeps } from './deps.js';
export { etagOf } from './etag.js';
export type { PriorAuthorizationInstance } from './prior-authorization.js';
export type { AuditSearch } from './use-cases/audit.use-case.js';
export type { BusCommandInput, BusCommandResult } from './use-cases/bus-command.use-case.js';
export type { RuleSetView } from './use-cases/prescribing-rules.use-case.js';
export { MAX_PAGE_SIZE, type MedicationRequestCriteria, type Page, type PageRequest } from './use-cases/read-medication-requests.use-case.js';
export type { DispenseCriteria, SeqPageRequest, TaskCriteria } from './use-cases/search-by-sequence.use-case.js';
export { backoffDelay, type RetryPolicy } from './use-cases/workflow-actions.use-case.js';
export { actionSubjects } from './workflow-subjects.js';

type BoundTo<F> = F extends (deps: UseCaseDeps, ...args: infer A) => infer R ? (...args: A) => R : never;

const USE_CASES = {
  authenticate,
  authorizeWrite,
  admitRequest,
  createMedicationRequest,
  updateMedicationRequest,
  getMedicationRequest,
  getMedicationRequestsByIds,
  getMedicationRequestVersion,
  medicationRequestHistory,
  medicationRequestTypeHistory,
  searchMedicationRequests,
  transitionsOf,
  patchMedicationRequest,
  transitionPrescription,
  createMedicationDispense,
  updateMedicationDispense,
  getMedicationDispense,
  getMedicationDispenseVersion,
  getMedicationDispensesByIds,
  medicationDispenseHistory,
  searchMedicationDispenses,
  dispensesOfPrescriptions,
  createTask,
  getTask,
  searchTasks,
  getPharmaciesByIds,
  searchPharmacies,
  createSubscription,
  getSubscription,
  failSubscription,
  recordSubscriptionCursor,
  replaySubscription,
  handleWorkflowEvent,
  fireDueTimers,
  prescriptionWorkflows,
  fillsFromDispenses,
  workflowDefinitions,
  prescribingRules,
  submitPriorAuthorization,
  priorAuthorizationEvent,
  patchPriorAuthorization,
  getPriorAuthorization,
  priorAuthorizationsByIds,
  priorAuthorizationsOfPrescriptions,
  priorAuthorizationTransitions,
  priorAuthorizationWorkflows,
  handleBusCommand,
  listDeadLetters,
  replayDeadLetter,
  replayDeadLetters,
  searchAuditEvents,
};

export type UseCases = { [K in keyof typeof USE_CASES]: BoundTo<(typeof USE_CASES)[K]> };

/** The application's public surface: every use-case with its dependencies bound. */
export function createUseCases(deps: UseCaseDeps): UseCases {
  const bound = {} as Record<string, unknown>;
  const recordLater = (entries: AuditEntry[]) => deps.audit.recordLater(entries);
  for (const [name, fn] of Object.entries(USE_CASES)) {
    bound[name] = audited(name, (...args: unknown[]) => (fn as (...a: unknown[]) => Promise<unknown>)(deps, ...args), recordLater);
  }
  return bound as UseCases;
}
