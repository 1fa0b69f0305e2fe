// Reads a metered request's body once, bounded by CHAT_BODY_LIMIT, so the gateway can read the model
// and hold size from it and re-send the very same bytes to LibreChat.
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.ts';

export interface BodyReadBounds {
  /** Longest gap between two chunks of the body. */
  idleTimeoutMs: number;
  /** Longest time for the whole body, from the first read. */
  totalTimeoutMs: number;
}

/**
 * Reads the body, at most `limit` bytes. A client that stalls while sending it (no chunk for idleTimeoutMs,
 * or not done within totalTimeoutMs) is refused with 408 `request_timeout` and `Connection: close`: its
 * partial body is dropped, nothing is forwarded or held, and the connection (with the rest of the body still
 * owed on it) is closed once the answer is out. Without the bounds, each stalled connection would pin up to
 * CHAT_BODY_LIMIT bytes for as long as the client liked (the server has no request timeout, for uploads).
 */
export function readClientBody(req: IncomingMessage, limit: number, bounds?: BodyReadBounds): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new GatewayError('payload_too_large'));
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (idleTimer) clearTimeout(idleTimer);
      if (totalTimer) clearTimeout(totalTimer);
    };
    const stop = (error: GatewayError) => {
      // Stop reading but keep the socket: the answer still has to reach the client.
      cleanup();
      chunks = [];
      req.pause();
      reject(error);
    };
    const timedOut = () => stop(new GatewayError('request_timeout', undefined, undefined, { connection: 'close' }));
    const idleTimer = bounds ? setTimeout(timedOut, bounds.idleTimeoutMs) : undefined;
    const totalTimer = bounds ? setTimeout(timedOut, bounds.totalTimeoutMs) : undefined;
    const onData = (chunk: Buffer) => {
      idleTimer?.refresh();
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      stop(new GatewayError('payload_too_large'));
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(Object.assign(new Error('client closed before sending its body'), { code: 'CLIENT_CLOSED' }));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}

/** Parses the body as a JSON object (LibreChat's chat bodies are objects). */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new GatewayError('invalid_request');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}
