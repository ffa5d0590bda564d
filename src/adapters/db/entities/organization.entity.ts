import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** `organizations` (InitialSchema): the shared pharmacy directory. */
@Entity({ name: 'organizations' })
// An expression index, `(lower(name), id)`, which TypeORM cannot describe: kept by the migration.
@Index('organizations_name_lower', { synchronize: false })
export class OrganizationEntity {
  @PrimaryColumn({ type: 'text' }) id!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', array: true, name: 'type_codes', default: '{}' }) typeCodes!: string[];
  @Column({ type: 'integer', default: 1 }) version!: number;
  @Column({ type: 'timestamptz', name: 'last_updated', default: () => 'now()' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: fhir4.Organization;
}
