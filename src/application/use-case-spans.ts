import { inSpan } from '../tracing.js';
import type { UseCases } from './index.js';

/**
 * Every use-case run inside a span `use-case <name>` (child of the request or consumer span that
 * called it; the SQL it issues nests below). The span carries the tenant and correlation id of the
 * request context when the first argument is one, nothing of the input. With `enabled` false the
 * use-cases are answered unchanged, so tracing off adds nothing to a call.
 */
export function withUseCaseSpans(enabled: boolean, useCases: UseCases): UseCases {
  if (!enabled) return useCases;
  const traced = {} as Record<string, unknown>;
  for (const [name, run] of Object.entries(useCases) as Array<[string, (...args: unknown[]) => unknown]>) {
    traced[name] = (...args: unknown[]) => {
      const ctx = args[0] as { tenantId?: unknown; correlationId?: unknown } | undefined;
      const attributes: Record<string, string> = { 'rxgate.use_case': name };
      if (typeof ctx?.tenantId === 'string') attributes['rxgate.tenant'] = ctx.tenantId;
      if (typeof ctx?.correlationId === 'string') attributes['rxgate.correlation_id'] = ctx.correlationId;
      return inSpan(`use-case ${name}`, { attributes }, () => run(...args));
    };
  }
  return traced as UseCases;
}
