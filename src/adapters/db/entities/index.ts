import { IdempotencyKeyEntity } from './idempotency-key.entity.js';
import { MedicationRequestEntity, MedicationRequestHistoryEntity } from './medication-request.entity.js';
import { OrganizationEntity } from './organization.entity.js';
import { OutboxEntity } from './outbox.entity.js';
import { TenantEntity } from './tenant.entity.js';

export { IdempotencyKeyEntity, MedicationRequestEntity, MedicationRequestHistoryEntity, OrganizationEntity, OutboxEntity, TenantEntity };

export const ENTITIES = [TenantEntity, OrganizationEntity, MedicationRequestEntity, MedicationRequestHistoryEntity, IdempotencyKeyEntity, OutboxEntity];
