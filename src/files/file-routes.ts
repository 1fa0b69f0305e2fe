// Which client requests change what a workspace stores in LibreChat (DESIGN.md "File storage"): the uploads
// that create a File record (`POST /api/files`, `POST /api/files/images`; not the avatar routes, speech to
// text or conversation import, which store no File record: api/server/routes/files/*.js in LibreChat) and
// `DELETE /api/files`; and `GET /api/files`, whose answer reconciles the count. Express routes these
// case-insensitively and ignores one trailing slash; so does this.

export type FileRouteKind = 'file_upload' | 'file_delete' | 'file_list';

const UPLOAD_PATHS = new Set(['/api/files', '/api/files/images']);

export interface FileRoute {
  kind: FileRouteKind;
  /** The route as LibreChat names it (lower case, no trailing slash). */
  path: string;
}

export function classifyFileRoute(method: string, rawUrl: string): FileRoute | undefined {
  if (method !== 'POST' && method !== 'DELETE' && method !== 'GET') return undefined;
  const queryAt = rawUrl.indexOf('?');
  const rawPath = (queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt)).toLowerCase();
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  if (method === 'POST' && UPLOAD_PATHS.has(path)) return { kind: 'file_upload', path };
  if (method === 'DELETE' && path === '/api/files') return { kind: 'file_delete', path };
  // The caller's own list: its answer reconciles what LibreChat stored or removed on its own (reconcile.ts).
  if (method === 'GET' && path === '/api/files') return { kind: 'file_list', path };
  return undefined;
}
