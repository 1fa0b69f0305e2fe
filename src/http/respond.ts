// Writes the gateway's own answers straight to Node's response: the one JSON error shape, with
// X-Request-Id and any headers the error carries (Retry-After).
import type { ServerResponse } from 'node:http';
import { errorBody, type GatewayError } from '../errors.ts';

export function sendError(res: ServerResponse, error: GatewayError, requestId: string): void {
  sendErrorBody(res, error, requestId, errorBody(error, requestId));
}

/**
 * An error answer with a body its route built (the file routes' also carries LibreChat's top-level
 * `message`): the error's status, X-Request-Id, no-store, `extraHeaders`, then the error's own headers. If
 * headers already went out, no JSON is possible: the socket is destroyed.
 */
export function sendErrorBody(res: ServerResponse, error: GatewayError, requestId: string, body: string, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.statusCode = error.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('x-request-id', requestId);
  res.setHeader('cache-control', 'no-store');
  for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, requestId: string): void {
  const body = JSON.stringify(value);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('x-request-id', requestId);
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}
