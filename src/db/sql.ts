// The one postgres.js pool of the process. Every statement goes through it; sessions run in UTC so
// the seed's TIMESTAMP columns (CURRENT_TIMESTAMP defaults, reset_at) are UTC wall-clock times.
import postgres from 'postgres';


export interface SqlOptions {
  url: string;
  max: number;
  prepare: boolean;
  connectTimeoutMs: number;
}

export type Sql = ReturnType<typeof createSql>;

export function createSql(options: SqlOptions) {
  return postgres(options.url, {
    max: options.max,
    prepare: options.prepare,
    connect_timeout: Math.max(1, Math.ceil(options.connectTimeoutMs / 1000)),
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    connection: { TimeZone: 'UTC', application_name: 'geko-gateway' },
    onnotice: () => {},
    types: {
      // TIMESTAMP (without time zone) columns hold UTC wall-clock times; read them as UTC whatever TZ node runs in.
      utcTimestamp: {
        to: 1114,
        from: [1114],
        serialize: (value: Date | string) => (value instanceof Date ? value.toISOString() : value),
        parse: (value: string) => new Date(`${value.replace(' ', 'T')}Z`),
      },
    },
    // postgres.js keeps query text and parameters off error objects' enumerable fields; we never log them.
    debug: false,
  });
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '53300',
]);

/** True when the error means the database could not be reached (as opposed to a bad statement). */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code);
}
