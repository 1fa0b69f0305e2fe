// The fake's request log: one bounded entry per request received, updated in place when the
// response finishes or the client goes away, so tests can see what the gateway really sent upstream.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Json } from './http-util.ts';

export interface LogEntry {
  seq: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The `x-tenant-id` header, when sent. */
  tenant: string | null;
  /** The authenticated user (JWT `id`/`sub`), when the route authenticated. */
  user: string | null;
  /** Parsed JSON when the body was JSON and small; null otherwise. */
  body: Json | null;
  /** Size of the request body, when the route read it. */
  bodyBytes: number | null;
  status: number | null;
  /** The client closed before the response finished. */
  closedEarly: boolean;
  /** The fake itself cut the connection (`cut` ending, garbage, reset-socket, postDestroy). */
  serverClosed: boolean;
  startedAt: number;
  finishedAt: number | null;
}

const MAX_ENTRIES = 10_000;

/** Control routes that are not logged, so polling the log does not fill it. */
const UNLOGGED = new Set(['/__fake/log', '/__fake/jobs', '/__fake/reset', '/__fake/defaults', '/__fake/agents']);

export class RequestLog {
  private entries: LogEntry[] = [];
  private seq = 0;

  /** Starts an entry for a request and keeps it current as the response ends; null for control routes. */
  track(req: IncomingMessage, res: ServerResponse, pathname: string): LogEntry | null {
    if (UNLOGGED.has(pathname)) return null;
    const tenant = req.headers['x-tenant-id'];
    const entry: LogEntry = {
      seq: ++this.seq,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      tenant: typeof tenant === 'string' ? tenant : null,
      user: null,
      body: null,
      bodyBytes: null,
      status: null,
      closedEarly: false,
      serverClosed: false,
      startedAt: Date.now(),
      finishedAt: null,
    };
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
    res.once('finish', () => {
      entry.status = res.statusCode;
      entry.finishedAt ??= Date.now();
    });
    res.once('close', () => {
      if (!res.writableFinished) {
        // Headers may already be out (a stream that was cut or left): record what the client saw.
        if (res.headersSent) entry.status = res.statusCode;
        if (!entry.serverClosed) entry.closedEarly = true;
      }
      entry.finishedAt ??= Date.now();
    });
    return entry;
  }

  list(): LogEntry[] {
    return this.entries;
  }

  clear(): void {
    this.entries = [];
    this.seq = 0;
  }
}
