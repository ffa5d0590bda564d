import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

/**
 * Where secrets and patient data can sit in what rxgate logs; each is written as `[redacted]`.
 * pino matches these paths exactly (`*` is one level), so containers of PHI are redacted whole:
 * a FHIR resource carries patient names in places no fixed path reaches (`subject.display`,
 * `contained[*].name`, extensions).
 */
export const REDACTED_PATHS: readonly string[] = [
  // Bearer tokens and cookies, wherever headers are logged; graphql-ws sends its token in connectionParams.
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'authorization',
  '*.authorization',
  // HTTP clients keep header names as written.
  'headers.Authorization',
  '*.headers.Authorization',
  'Authorization',
  '*.Authorization',
  'connectionParams',
  '*.connectionParams',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  // Resources, events and request bodies: the prescription, its patient, its notes.
  'req.body',
  'body',
  '*.body',
  'resource',
  '*.resource',
  'prescription',
  '*.prescription',
  'notice',
  '*.notice',
  'envelope',
  '*.envelope',
  'payload',
  '*.payload',
];

/**
 * Fields of an error worth logging, none of which carries request data. Everything else an error
 * object holds is left out: TypeORM's `QueryFailedError` carries the statement's `parameters` (the
 * whole resource as JSON), and PostgreSQL's `detail` quotes the failing row ("Failing row contains …").
 */
const ERROR_FIELDS = [
  'message',
  'stack',
  'code',
  'statusCode',
  'status',
  'errno',
  'syscall',
  'severity',
  'routine',
  'table',
  'column',
  'constraint',
  'schema',
] as const;

/** An error as rxgate logs it: its type and the allow-listed fields, its `cause` and `errors` likewise. */
export function serializeError(error: unknown, depth = 0): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const source = error as Record<string, unknown>;
  const out: Record<string, unknown> = { type: error.constructor?.name ?? 'Object' };
  for (const field of ERROR_FIELDS) {
    const value = source[field];
    if (value !== undefined && (typeof value !== 'object' || value === null)) out[field] = value;
  }
  if (depth < 3) {
    if (source.cause !== undefined) out.cause = serializeError(source.cause, depth + 1);
    if (Array.isArray(source.errors)) out.errors = source.errors.slice(0, 10).map((e) => serializeError(e, depth + 1));
  }
  return out;
}

/** Options of `createLogger`: any pino option but the redaction and error serializers, which are fixed. */
export type CreateLoggerOptions = Omit<LoggerOptions, 'redact'> & {
  /** pino level, or `silent`. */
  level: string;
  /** `pretty` writes one readable line per entry (development); `json` (default) pino's own lines. */
  format?: 'json' | 'pretty';
};

/**
 * The gateway's logger: pino with tokens, Authorization headers and patient data redacted
 * (`REDACTED_PATHS`) and errors reduced to fields that carry no request data (`serializeError`).
 * Writes to `destination`, or standard output.
 */
export function createLogger(options: CreateLoggerOptions, destination?: DestinationStream): Logger {
  const { format, ...pinoOptions } = options;
  const settings: LoggerOptions = {
    ...pinoOptions,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    serializers: { ...options.serializers, err: (e: unknown) => serializeError(e), error: (e: unknown) => serializeError(e) },
  };
  if (format === 'pretty') {
    const out = destination ?? process.stdout;
    const colors = !destination && process.stdout.isTTY === true && !process.env.NO_COLOR;
    return pino(settings, { write: (line: string) => out.write(prettyLine(line, colors)) });
  }
  return destination ? pino(settings, destination) : pino(settings);
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Not repeated on every line: the same for the whole process, or shown elsewhere in the line. */
const HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'reqId', 'err', 'error']);

/**
 * One pino JSON line as `HH:MM:SS.mmm LEVEL message key=value … [correlation id]`, and an error's
 * stack below it. Redaction has already happened: this only rearranges what pino wrote.
 */
export function prettyLine(json: string, colors = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const paint = (code: string, text: string) => (colors ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = Number(entry.level);
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .map(([key, value]) => `${paint('90', `${key}=`)}${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const reqId = typeof entry.reqId === 'string' ? paint('90', ` [${entry.reqId}]`) : '';
  const error = (entry.err ?? entry.error) as { type?: string; message?: string; stack?: string } | undefined;
  const errorText = error ? `\n    ${(error.stack ?? `${error.type}: ${error.message}`).split('\n').join('\n    ')}` : '';
  const name = (LEVEL_NAMES[level] ?? String(entry.level)).padEnd(5);
  return `${paint('90', time)} ${paint(LEVEL_COLORS[level] ?? '0', name)} ${String(entry.msg ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}${reqId}${errorText}\n`;
}
