import { PRIOR_AUTHORIZATION_LINK } from './prior-authorization.js';
import type { MoveHook } from './workflow-engine.js';

/**
 * Every link between workflows the engine applies on a move (CONTRACT §9, §10). Read when a move
 * runs, not when this module loads: the links import the engine, which imports this module, so a
 * program that imports a link first reaches this module before the link is defined.
 */
export const moveHooks = (): ReadonlyArray<MoveHook<never>> => [PRIOR_AUTHORIZATION_LINK as MoveHook<never>];
