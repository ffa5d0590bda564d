import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { DeadLetter } from '#ports/index.js';
import type { GraphqlContext } from '../context.js';
import { DeadLetterFilter, DeadLetterType, ReplayResult } from '../types/dead-letter.type.js';

const toGraphql = (d: DeadLetter): DeadLetterType => ({
  id: d.id,
  handler: d.handler,
  eventId: d.eventId,
  eventType: d.eventType,
  error: d.error,
  attempts: d.attempts,
  createdAt: d.createdAt,
  resolvedAt: d.resolvedAt,
  event: d.envelope as unknown as Record<string, unknown>,
});

/** Dead letters of workflow actions, for a platform-admin of the tenant. */
@Resolver(() => DeadLetterType)
export class DeadLetterResolver {
  @Query(() => [DeadLetterType], { description: 'Open dead letters of your tenant, oldest first. Persona: platform-admin.' })
  async deadLetters(
    @Ctx() { ctx, useCases }: GraphqlContext,
    @Arg('filter', () => DeadLetterFilter, { nullable: true, description: 'Which ones; all open ones when omitted.' }) filter?: DeadLetterFilter,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100, description: 'How many (at most 500).' }) first: number | null = 100,
  ): Promise<DeadLetterType[]> {
    return (
      await useCases.listDeadLetters(ctx, {
        handler: filter?.handler,
        eventType: filter?.eventType,
        includeResolved: filter?.includeResolved ?? false,
        limit: first ?? 100,
      })
    ).map(toGraphql);
  }

  @Mutation(() => DeadLetterType, { description: 'Runs a dead letter’s action again; on success it is resolved. Persona: platform-admin.' })
  async replayDeadLetter(@Arg('id', () => ID) id: string, @Ctx() { ctx, useCases }: GraphqlContext): Promise<DeadLetterType> {
    return toGraphql(await useCases.replayDeadLetter(ctx, id));
  }

  @Mutation(() => ReplayResult, { description: 'Replays every open dead letter matching the filter. Persona: platform-admin.' })
  async replayDeadLetters(
    @Ctx() { ctx, useCases }: GraphqlContext,
    @Arg('filter', () => DeadLetterFilter, { nullable: true, description: 'Which ones; all open ones when omitted.' }) filter?: DeadLetterFilter,
  ): Promise<ReplayResult> {
    return useCases.replayDeadLetters(ctx, { handler: filter?.handler, eventType: filter?.eventType, limit: 500 });
  }
}
