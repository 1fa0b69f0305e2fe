// Helpers for the file-storage tests: multipart uploads the way LibreChat's client sends them (fields, then
// the `file` part), deletes with LibreChat's JSON body, and the storage rows to read back.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Sql } from '../../src/db/sql.ts';
import { send, type Reply } from './raw-http.ts';

export const MiB = 1024 * 1024;

/** A multipart body whose `file` part holds `fileBytes` bytes; `totalBytes` pads the file so the whole body has that size. */
export function multipartBody(opts: { fileBytes?: number; totalBytes?: number; filename?: string }): { body: Buffer; boundary: string; fileBytes: number } {
  const boundary = `----gekoTest${randomUUID().replace(/-/g, '')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="endpoint"\r\n\r\nagents\r\n`
    + `--${boundary}\r\nContent-Disposition: form-data; name="file_id"\r\n\r\n${randomUUID()}\r\n`
    + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${opts.filename ?? 'notes.txt'}"\r\nContent-Type: text/plain\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const fileBytes = opts.totalBytes !== undefined ? opts.totalBytes - head.length - tail.length : (opts.fileBytes ?? 1024);
  if (fileBytes < 0) throw new Error('totalBytes is smaller than the multipart overhead');
  return { body: Buffer.concat([head, randomBytes(fileBytes), tail]), boundary, fileBytes };
}

export interface UploadOptions {
  token: string;
  fileBytes?: number;
  totalBytes?: number;
  path?: string;
  headers?: Record<string, string>;
}

export async function upload(baseUrl: string, opts: UploadOptions): Promise<Reply & { requestId: string; fileBytes: number; json: Record<string, any> }> {
  const requestId = `up-${randomUUID()}`;
  const { body, boundary, fileBytes } = multipartBody(opts);
  const reply = await send(baseUrl, opts.path ?? '/api/files', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${opts.token}`, 'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(body.length), 'x-request-id': requestId, ...opts.headers,
    },
    body,
  });
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(reply.text) as Record<string, any>;
  } catch {
    // not JSON
  }
  return { ...reply, requestId, fileBytes, json };
}

export async function deleteFiles(baseUrl: string, token: string, fileIds: string[], extra: Record<string, unknown> = {}) {
  const requestId = `del-${randomUUID()}`;
  const body = JSON.stringify({ files: fileIds.map((file_id) => ({ file_id, filepath: `/uploads/x/${file_id}` })), ...extra });
  const reply = await send(baseUrl, '/api/files', {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-request-id': requestId },
    body,
  });
  return { ...reply, requestId };
}

export async function storageOf(sql: Sql, workspaceId: string) {
  const [row] = await sql<{ files_used: number; files_limit: number; stored_bytes: string | null; held_bytes: string | null }[]>`
    SELECT q.files_used, q.files_limit, s.stored_bytes::text, s.held_bytes::text
    FROM workspace_quotas q LEFT JOIN workspace_storage s USING (workspace_id) WHERE q.workspace_id = ${workspaceId}`;
  return { filesUsed: row!.files_used, filesLimit: row!.files_limit, storedBytes: Number(row!.stored_bytes ?? 0), heldBytes: Number(row!.held_bytes ?? 0) };
}
