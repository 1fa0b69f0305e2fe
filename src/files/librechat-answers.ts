// What the gateway reads from LibreChat's file answers and requests. An upload's 200 is the created File
// record, `{message, file_id, temp_file_id, bytes, filepath, filename, type, source, …}`
// (api/server/services/Files/process.js, processFileUpload / processAgentFileUpload / processImageFile);
// a delete names its files as `{files: [{file_id, filepath, …}], agent_id?, …}` (api/server/routes/files/files.js).
// Both are read bounded and never trusted past their shape.

/** LibreChat's answer to one upload is one record; more than this is not an answer we can read. */
export const UPLOAD_ANSWER_LIMIT = 1024 * 1024;
/** How many file ids one delete may give back (LibreChat's client deletes in batches far smaller). */
export const MAX_DELETED_FILES = 1000;

export interface StoredFile {
  fileId: string | null;
  bytes: number | null;
}

function storableId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 255 && !value.includes('\u0000');
}

/** The file id and bytes of an upload's 200 answer; nulls for what it does not say in a usable form. */
export function readUploadAnswer(raw: Buffer | undefined): StoredFile {
  if (!raw) return { fileId: null, bytes: null };
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return { fileId: null, bytes: null };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { fileId: null, bytes: null };
  const record = value as Record<string, unknown>;
  const bytes = record.bytes;
  return {
    fileId: storableId(record.file_id) ? record.file_id : null,
    bytes: typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : null,
  };
}

/** The file ids a delete body names (each once), or [] when it is not LibreChat's shape. */
export function readDeletedFileIds(raw: Buffer): string[] {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return [];
  }
  const files = typeof value === 'object' && value !== null ? (value as { files?: unknown }).files : undefined;
  if (!Array.isArray(files)) return [];
  const ids = new Set<string>();
  for (const file of files) {
    const id = typeof file === 'object' && file !== null ? (file as { file_id?: unknown }).file_id : undefined;
    if (storableId(id)) ids.add(id);
    if (ids.size >= MAX_DELETED_FILES) break;
  }
  return [...ids];
}
