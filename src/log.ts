// Structured JSON logs through pino: one line per event on stdout, level as a label, ISO time. Callers
// pass only allow-listed fields; tokens, cookies, bodies and SQL parameters are never handed to it, and
// pino's redaction drops the obvious secrets should one slip into a field anyway.
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;
/** Flat scalars only: nothing in it can hold a secret the redaction would have to find. */
export type RequestLogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  /**
   * The one `request` line per request (info level). Its fields are an allow-listed record of scalars
   * (client-request.ts), which no redact path can match, so it skips pino's redaction pass: that pass
   * clones and walks every line and was ~half the cost of the request line (bench/README.md, round F).
   */
  request(fields: RequestLogFields): void;
  /**
   * An info line of flat scalars (the request line, a settlement's line), written as pino writes it but
   * without its redaction pass and serializer: no redact path can match such a record.
   */
  record(msg: string, fields: RequestLogFields): void;
  /** Writes out what the asynchronous destination still buffers (before process.exit). */
  flush(): void;
}

// Lines are batched into writes of ~4 KB rather than one write(2) per line (the request log is one line
// per request, and a syscall per line was a measurable share of a pass-through's CPU: bench/README.md, round F);
// a timer writes out whatever waits, so a quiet gateway's lines are at most FLUSH_MS late, and pino
// writes out the rest synchronously when the process exits.
const BATCH_BYTES = 4096;
const FLUSH_MS = 250;

const REDACT = ['authorization', 'cookie', 'token', 'password', '*.authorization', '*.cookie', '*.token', '*.password'];

let lastMs = -1;
let lastIso = '';
/** The time as pino's isoTime writes it, formatted once per millisecond (a busy gateway logs several lines in one). */
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}
const isoTime = () => `,"time":"${isoNow()}"`;

/**
 * The line pino writes for `info(fields, msg)` with this module's options (level label, time, the fields in
 * order, msg), serialised by JSON.stringify: for flat scalars it is the same text, made without pino's
 * per-line work, which was most of the request line's cost (bench/README.md, round G).
 */
function scalarLine(msg: string, fields: RequestLogFields): string {
  const json = JSON.stringify(fields);
  const props = json.length > 2 ? `,${json.slice(1, -1)}` : '';
  return `{"level":"info","time":"${isoNow()}"${props},"msg":${JSON.stringify(msg)}}\n`;
}

/** `stream` is set for the root logger only: a child's lines carry its bindings, so pino writes them. */
function wrap(base: pino.Logger, unredacted: pino.Logger, stream?: pino.DestinationStream): Logger {
  const record = (msg: string, fields: RequestLogFields) => {
    if (!stream) unredacted.info(fields, msg);
    else if (unredacted.isLevelEnabled('info')) stream.write(scalarLine(msg, fields));
  };
  return {
    debug: (msg, fields) => base.debug(fields ?? {}, msg),
    info: (msg, fields) => base.info(fields ?? {}, msg),
    warn: (msg, fields) => base.warn(fields ?? {}, msg),
    error: (msg, fields) => base.error(fields ?? {}, msg),
    child: (fields) => wrap(base.child(fields), unredacted.child(fields)),
    request: (fields) => record('request', fields),
    record,
    flush: () => base.flush(),
  };
}

/** stdout, batched: see BATCH_BYTES. */
function batchedStdout(): pino.DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES });
  setInterval(() => stream.flush(), FLUSH_MS).unref();
  return stream;
}

/** A logger writing to `destination` (stdout by default; tests pass a stream to read the lines). */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const stream = destination ?? batchedStdout();
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    timestamp: isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  // Two loggers on one stream: the same line format, one with the redaction safety net for free-form fields.
  return wrap(pino({ ...options, redact: { paths: REDACT, remove: true } }, stream), pino(options, stream), stream);
}
