// How the file routes refuse, and how they run their statements. LibreChat's client shows a failed upload as
// a toast of the answer's top-level `message` (client/src/hooks/Files/useFileHandling.ts), so a refusal on a
// file route carries its sentence there too, beside the gateway's one error shape. The body of a refused
// upload is never read: the connection is closed instead of draining it.
import type { ServerResponse } from 'node:http';
import type { PendingQuery, Row } from 'postgres';
import { isDatabaseUnavailable } from '../db/sql.ts';
import { GatewayError } from '../errors.ts';
import { sendErrorBody } from '../http/respond.ts';
import type { Logger } from '../log.ts';
import { MIB } from './hold.ts';

export function sendFileRefusal(res: ServerResponse, error: GatewayError, requestId: string, closeConnection: boolean): void {
  const body = JSON.stringify({
    error: { code: error.code, message: error.message, request_id: requestId, ...(error.details ? { details: error.details } : {}) },
    message: error.message,
  });
  sendErrorBody(res, error, requestId, body, closeConnection ? { connection: 'close' } : {});
}

/** Megabytes with one decimal, as a person reads a storage figure. */
function megabytes(bytes: number): string {
  return `${(Math.ceil((bytes / MIB) * 10) / 10).toFixed(1)} MB`;
}

/** 429 quota_exceeded (kind files) with the sentence LibreChat's upload toast shows. */
export function storageFull(s: { storedBytes: number; heldBytes: number; limitMb: number; uploadBytes: number }): GatewayError {
  const used = s.storedBytes + s.heldBytes;
  const message = `This workspace's file storage is full: ${megabytes(used)} of ${s.limitMb} MB used`
    + `${s.heldBytes > 0 ? ` (${megabytes(s.heldBytes)} of it by uploads in progress)` : ''}, and this upload needs`
    + ` ${megabytes(s.uploadBytes)}. Delete files or ask an administrator for more storage.`;
  return new GatewayError('quota_exceeded', message, {
    kind: 'files', files_limit: s.limitMb, files_used: Math.ceil(s.storedBytes / MIB),
    stored_bytes: s.storedBytes, held_bytes: s.heldBytes, upload_bytes: s.uploadBytes,
  });
}

/**
 * Runs one statement with a deadline: past it the statement is cancelled and the caller gets 503 (if it
 * committed anyway, `onLateCommit` undoes what the client was told did not happen). Any database failure
 * is 503 database_unavailable: the file routes fail closed.
 */
export async function runFileStatement<T extends Row>(
  query: PendingQuery<T[]>,
  opts: { timeoutMs: number; logger: Logger; onLateCommit?: (rows: T[]) => void },
): Promise<T[]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), opts.timeoutMs); });
  try {
    const outcome = await Promise.race([query, deadline]);
    if (outcome !== 'timeout') return outcome as T[];
  } catch (error) {
    if (!isDatabaseUnavailable(error)) opts.logger.error('file statement failed', { err_code: (error as { code?: string }).code });
    throw new GatewayError('database_unavailable');
  } finally {
    clearTimeout(timer);
  }
  query.cancel();
  void Promise.resolve(query).then((rows) => opts.onLateCommit?.(rows as T[]), () => undefined);
  throw new GatewayError('database_unavailable', 'The database did not answer in time; try again shortly.');
}
