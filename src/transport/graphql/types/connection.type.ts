import { type ClassType, Field, Int, ObjectType } from 'type-graphql';
import { PageInfo } from './page-info.type.js';

/** How a connection's types and fields are named and described. */
export interface ConnectionNames {
  /** Prefix of the type names: `MedicationRequest` gives `MedicationRequestEdge`. */
  typeName: string;
  /** One item, in prose: `prescription`. */
  singular: string;
  /** Several, in prose: `prescriptions`. */
  plural: string;
}

/**
 * A Relay connection of `nodeType` (relay.dev graphql/connections.htm): an abstract base holding
 * `edges`, `pageInfo` and `totalCount`, and its `<typeName>Edge` type. The concrete connection
 * extends it, as in type-graphql's "generic types" example (v2 has no `isAbstract`):
 * `@ObjectType({ simpleResolvers: true }) class MedicationRequestConnection extends Connection(MedicationRequestType, …) {}`.
 */
export function Connection<TNode extends object>(nodeType: ClassType<TNode>, names: ConnectionNames) {
  @ObjectType(`${names.typeName}Edge`, { simpleResolvers: true, description: `One ${names.singular} in a page, with its cursor.` })
  class Edge {
    @Field(() => String, { description: 'Opaque cursor of this item; pass it as `after` to continue.' })
    cursor!: string;

    @Field(() => nodeType, { description: `The ${names.singular}.` })
    node!: TNode;
  }

  // Not in the schema by itself (type-graphql 2 emits only types reachable from the root): its subclass is.
  @ObjectType({ simpleResolvers: true })
  abstract class ConnectionBase {
    @Field(() => [Edge], { description: `The ${names.plural} of this page.` })
    edges!: Edge[];

    @Field(() => PageInfo, { description: 'Paging information.' })
    pageInfo!: PageInfo;

    @Field(() => Int, { description: `Number of ${names.plural} matching the filter, over all pages.` })
    totalCount!: number;
  }
  return ConnectionBase;
}
