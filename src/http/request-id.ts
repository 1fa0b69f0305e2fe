// The request id every answer carries (X-Request-Id, error.request_id, the log line, audit rows): the
// client's own when it is safe to echo and log, else a new UUID. Below every capability folder, since
// proxy/, ops/ and dashboard/ all answer requests.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const REQUEST_ID = /^[A-Za-z0-9_.=-]{1,128}$/;

/** The client's X-Request-Id when it is safe to echo and log, else a new one. */
export function resolveRequestId(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}
