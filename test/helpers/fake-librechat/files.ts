// LibreChat's file routes as the gateway sees them (api/server/routes/files/files.js, images.js and
// api/server/services/Files/process.js): a multipart upload (`file` part, other fields before it) streamed
// through a small boundary scanner, never held in memory, answered with the created File record and its
// `bytes` (the file part's size); `GET /api/files` lists the caller's files; `DELETE /api/files` with
// `{files: [{file_id, filepath}]}` deletes the caller's own (403 naming the others, 204 when no entry is valid).
// Test-only extras on the upload answer: `body_bytes` and `body_sha256` of the whole request body.
// Scenario, per request header `x-fake-upload`: `status=<n>` answers that status (`{message}`) after reading
// the body; `bytes=<n>` reports that many bytes (an image LibreChat converted to another size).
import { createHash, randomUUID } from 'node:crypto';
import { readJsonBody, type Ctx } from './context.ts';
import { LOG_BODY_LIMIT, sendJson } from './http-util.ts';

export interface StoredFile {
  user: string;
  file_id: string;
  temp_file_id: string | null;
  bytes: number;
  filename: string;
  filepath: string;
  type: string;
  source: string;
  context: string;
  createdAt: string;
  updatedAt: string;
}

interface MultipartScan {
  bodyBytes: number;
  sha256: string;
  fileBytes: number | null;
  filename: string | null;
  fileType: string | null;
  fields: Record<string, string>;
}

/** Streams a multipart/form-data body, counting the `file` part and keeping small fields; undefined if cut. */
async function scanMultipart(ctx: Ctx): Promise<MultipartScan | undefined> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(String(ctx.req.headers['content-type'] ?? ''));
  const delimiter = boundary ? Buffer.from(`\r\n--${boundary[1] ?? boundary[2]}`) : undefined;
  const hash = createHash('sha256');
  const scan: MultipartScan = { bodyBytes: 0, sha256: '', fileBytes: null, filename: null, fileType: null, fields: {} };
  // The body is read as if it began with CRLF, so the first boundary looks like every other one.
  let pending: Buffer = Buffer.from('\r\n');
  let state: 'preamble' | 'boundary' | 'headers' | 'part' | 'done' = 'preamble';
  let part: { name: string | null; isFile: boolean; kept: Buffer[]; size: number } | undefined;
  const advance = () => {
    for (;;) {
      if (!delimiter || state === 'done') return;
      if (state === 'boundary') {
        // After a delimiter: `--` closes the body, CRLF starts the next part's headers.
        if (pending.length < 2) return;
        state = pending.subarray(0, 2).toString() === '--' ? 'done' : 'headers';
        pending = pending.subarray(2);
        continue;
      }
      if (state === 'headers') {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = pending.subarray(0, end).toString('latin1');
        pending = pending.subarray(end + 4);
        const name = /name="([^"]*)"/i.exec(head)?.[1] ?? null;
        const filename = /filename="([^"]*)"/i.exec(head)?.[1];
        part = { name, isFile: name === 'file' && filename !== undefined, kept: [], size: 0 };
        if (part.isFile) {
          scan.filename = filename ?? null;
          scan.fileType = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim() ?? 'application/octet-stream';
        }
        state = 'part';
        continue;
      }
      const at = pending.indexOf(delimiter);
      const usable = at === -1 ? Math.max(0, pending.length - delimiter.length) : at;
      if (state === 'part' && part) {
        part.size += usable;
        if (!part.isFile && part.size <= 4096) part.kept.push(pending.subarray(0, usable));
      }
      if (at === -1) {
        pending = pending.subarray(usable);
        return;
      }
      if (state === 'part' && part) {
        if (part.isFile) scan.fileBytes = part.size;
        else if (part.name && part.size <= 4096) scan.fields[part.name] = Buffer.concat(part.kept).toString('utf8');
      }
      pending = pending.subarray(at + delimiter.length);
      part = undefined;
      state = 'boundary';
    }
  };
  try {
    for await (const chunk of ctx.req) {
      const buffer = chunk as Buffer;
      hash.update(buffer);
      scan.bodyBytes += buffer.length;
      pending = Buffer.concat([pending, buffer]);
      advance();
      // Only a part's tail may still hold a delimiter: the rest was counted.
      if ((state as string) !== 'headers' && pending.length > LOG_BODY_LIMIT) pending = pending.subarray(pending.length - LOG_BODY_LIMIT);
    }
  } catch {
    return undefined;
  }
  if (!ctx.req.complete) return undefined;
  scan.sha256 = hash.digest('hex');
  if (ctx.entry) ctx.entry.bodyBytes = scan.bodyBytes;
  return scan;
}

function uploadScenario(ctx: Ctx): { status: number; bytes: number | null } {
  const raw = String(ctx.req.headers['x-fake-upload'] ?? '');
  const status = Number(/status=(\d{3})/.exec(raw)?.[1] ?? 200);
  const bytes = /bytes=(\d+)/.exec(raw)?.[1];
  return { status, bytes: bytes === undefined ? null : Number(bytes) };
}

/** `POST /api/files` and `POST /api/files/images`. */
export async function uploadFile(ctx: Ctx, files: Map<string, StoredFile>, image: boolean): Promise<void> {
  const scan = await scanMultipart(ctx);
  if (!scan) return;
  const scenario = uploadScenario(ctx);
  if (scenario.status !== 200) {
    sendJson(ctx.res, scenario.status, { message: 'Error processing file' });
    return;
  }
  const now = new Date().toISOString();
  const fileId = randomUUID();
  const file: StoredFile = {
    user: ctx.user,
    file_id: fileId,
    temp_file_id: scan.fields.file_id ?? null,
    bytes: scenario.bytes ?? scan.fileBytes ?? scan.bodyBytes,
    filename: scan.filename ?? 'upload.bin',
    filepath: `/uploads/${ctx.user}/${fileId}__${scan.filename ?? 'upload.bin'}`,
    type: image ? 'image/webp' : (scan.fileType ?? 'application/octet-stream'),
    source: 'local',
    context: 'message_attachment',
    createdAt: now,
    updatedAt: now,
  };
  files.set(fileId, file);
  sendJson(ctx.res, 200, {
    message: 'File uploaded and processed successfully', ...file, _id: fileId.replace(/-/g, '').slice(0, 24), __v: 0, usage: 0,
    body_bytes: scan.bodyBytes, body_sha256: scan.sha256,
  });
}

/** `GET /api/files`: the caller's File records. */
export function listFiles(ctx: Ctx, files: Map<string, StoredFile>): void {
  sendJson(ctx.res, 200, [...files.values()].filter((file) => file.user === ctx.user));
}

/** `DELETE /api/files`. */
export async function deleteFiles(ctx: Ctx, files: Map<string, StoredFile>): Promise<void> {
  const body = await readJsonBody(ctx, 3 * 1024 * 1024);
  if (!body) return;
  const named = Array.isArray(body.files) ? body.files : [];
  const valid = named.filter((f): f is { file_id: string; filepath: string } =>
    typeof f === 'object' && f !== null && typeof (f as { file_id?: unknown }).file_id === 'string' && typeof (f as { filepath?: unknown }).filepath === 'string');
  if (valid.length === 0) {
    // Express drops the body of a 204 (LibreChat answers it with a JSON message that never arrives).
    ctx.res.writeHead(204).end();
    return;
  }
  const found = valid.map((f) => files.get(f.file_id)).filter((f): f is StoredFile => f !== undefined);
  const others = found.filter((f) => f.user !== ctx.user);
  if (others.length > 0) {
    sendJson(ctx.res, 403, { message: 'You can only delete files you have access to', unauthorizedFiles: others.map((f) => f.file_id) });
    return;
  }
  for (const file of found) files.delete(file.file_id);
  sendJson(ctx.res, 200, { message: 'Files deleted successfully' });
}
