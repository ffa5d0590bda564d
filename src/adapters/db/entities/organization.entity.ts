import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'organizations' })
export class OrganizationEntity {
  @PrimaryColumn({ type: 'text' }) id!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', array: true, name: 'type_codes' }) typeCodes!: string[];
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'timestamptz', name: 'last_updated' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: fhir4.Organization;
}
