import { PRIOR_AUTHORIZATION_LINK } from './prior-authorization.js';
import type { MoveHook } from './workflow-engine.js';

/** Every link between workflows the engine applies on a move (CONTRACT §9, §10). */
export const MOVE_HOOKS: ReadonlyArray<MoveHook<never>> = [PRIOR_AUTHORIZATION_LINK as MoveHook<never>];
