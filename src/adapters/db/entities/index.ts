import { ActionRunEntity } from './action-run.entity.js';
import { AuditEventEntity } from './audit-event.entity.js';
import { BusCommandEntity } from './bus-command.entity.js';
import { BusConsumerEntity } from './bus-consumer.entity.js';
import { BusMessageEntity } from './bus-message.entity.js';
import { DeadLetterEntity } from './dead-letter.entity.js';
import { IdempotencyKeyEntity } from './idempotency-key.entity.js';
import { MedicationDispenseEntity } from './medication-dispense.entity.js';
import { MedicationDispenseHistoryEntity } from './medication-dispense-history.entity.js';
import { MedicationRequestEntity } from './medication-request.entity.js';
import { MedicationRequestHistoryEntity } from './medication-request-history.entity.js';
import { OrganizationEntity } from './organization.entity.js';
import { OutboxEntity } from './outbox.entity.js';
import { RateBucketEntity } from './rate-bucket.entity.js';
import { RelayStateEntity } from './relay-state.entity.js';
import { SubscriptionEntity } from './subscription.entity.js';
import { TaskEntity } from './task.entity.js';
import { TaskHistoryEntity } from './task-history.entity.js';
import { TenantEntity } from './tenant.entity.js';
import { WorkflowTimerEntity } from './workflow-timer.entity.js';

export {
  ActionRunEntity,
  AuditEventEntity,
  BusCommandEntity,
  BusConsumerEntity,
  BusMessageEntity,
  DeadLetterEntity,
  IdempotencyKeyEntity,
  MedicationDispenseEntity,
  MedicationDispenseHistoryEntity,
  MedicationRequestEntity,
  MedicationRequestHistoryEntity,
  OrganizationEntity,
  OutboxEntity,
  RateBucketEntity,
  RelayStateEntity,
  SubscriptionEntity,
  TaskEntity,
  TaskHistoryEntity,
  TenantEntity,
  WorkflowTimerEntity,
};

/**
 * One entity per table of the migrations, each its exact column map: test/integration/entity-schema.test.ts
 * fails when a migration and an entity disagree, or when a table has no entity.
 */
export const ENTITIES = [
  ActionRunEntity,
  AuditEventEntity,
  BusCommandEntity,
  BusConsumerEntity,
  BusMessageEntity,
  DeadLetterEntity,
  IdempotencyKeyEntity,
  MedicationDispenseEntity,
  MedicationDispenseHistoryEntity,
  MedicationRequestEntity,
  MedicationRequestHistoryEntity,
  OrganizationEntity,
  OutboxEntity,
  RateBucketEntity,
  RelayStateEntity,
  SubscriptionEntity,
  TaskEntity,
  TaskHistoryEntity,
  TenantEntity,
  WorkflowTimerEntity,
];
