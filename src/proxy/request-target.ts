// The one request target of a client request, decided once, before anything classifies it: the
// origin-form path and query that the gateway both classifies (routes.ts) and forwards (http-proxy sends
// `req.url`). LibreChat's Express 5 routes an absolute-form target (`POST http://host/api/agents/chat/x`)
// by its path and drops a `#fragment`; a gateway that classified the raw string would decide on one
// request while LibreChat ran another. So the raw target is brought to that path and query here, and the
// raw string is never looked at again (DESIGN.md, "What the gateway classifies is what LibreChat routes").
// - origin-form (`/path?query`): kept byte for byte, minus any fragment.
// - absolute-form (`scheme://authority/path?query`, any scheme, any letter case): its path and query;
//   an empty path is `/`. Its authority replaces the Host header (RFC 9112 §3.2.2: the target's host wins),
//   so tenant resolution by host reads the same host the client addressed.
// - asterisk-form (`OPTIONS *`), and anything else Node's parser lets through: refused. None of them can
//   name a route; LibreChat would only answer them with its web page. Authority-form is CONNECT's, which
//   Node hands to the server's 'connect' event: answerConnect refuses it in the one error shape (Node's
//   default would close the socket without an answer; LibreChat's does, so nothing is lost).
// - a path with a malformed or non-UTF-8 percent escape: refused, since Express answers 400 when such a
//   segment is a route parameter, and a segment it could not decode cannot be classified either.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, GatewayError } from '../errors.ts';
import { resolveRequestId } from '../http/request-id.ts';

export type RequestTarget =
  | { ok: true; /** Origin-form path and query: what is classified and forwarded. */ path: string; /** From an absolute-form target. */ authority?: string }
  | { ok: false; reason: string };

/** `scheme://` (RFC 3986 §3.1), then the authority up to the first `/`, `?` or end. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?]*)(.*)$/s;
/** An authority a client may name: optional userinfo, a host name or IP literal, optional port. */
const AUTHORITY = /^(?:[A-Za-z0-9._~!$&'()*+,;=:%-]*@)?((?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?)$/;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** True when every percent escape of the path is well formed and decodes as UTF-8, as Express decodes params. */
export function isDecodablePath(path: string): boolean {
  if (!path.includes('%')) return true;
  if (MALFORMED_ESCAPE.test(path)) return false;
  try {
    for (const segment of path.split('/')) decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/** Decides the request target from the raw one of the request line (a pure function; see the file comment). */
export function parseRequestTarget(raw: string): RequestTarget {
  const hash = raw.indexOf('#');
  const target = hash === -1 ? raw : raw.slice(0, hash);
  let path: string;
  let authority: string | undefined;
  if (target.startsWith('/')) {
    path = target;
  } else {
    const absolute = ABSOLUTE_FORM.exec(target);
    if (!absolute) return { ok: false, reason: 'The request target must be a path or an absolute URL.' };
    const host = AUTHORITY.exec(absolute[1]!);
    if (!host) return { ok: false, reason: 'The request target names no valid host.' };
    authority = host[1]!;
    const rest = absolute[2]!;
    path = rest.startsWith('/') ? rest : `/${rest}`;
  }
  const queryAt = path.indexOf('?');
  if (!isDecodablePath(queryAt === -1 ? path : path.slice(0, queryAt))) {
    return { ok: false, reason: 'The request path has a malformed percent-encoding.' };
  }
  return authority === undefined ? { ok: true, path } : { ok: true, path, authority };
}

/**
 * Decides the target of a client request and makes the request carry it: `req.url` becomes the decided
 * path (what http-proxy forwards and what routes.ts classifies), and an absolute-form's authority its Host.
 */
export function decideRequestTarget(req: IncomingMessage): RequestTarget {
  const target = parseRequestTarget(req.url ?? '/');
  if (target.ok) {
    req.url = target.path;
    if (target.authority !== undefined) req.headers.host = target.authority;
  }
  return target;
}

/** The target with `resume=true` in its query (a stream GET forwarded to LibreChat), the path untouched. */
export function withResumeQuery(path: string): string {
  const queryAt = path.indexOf('?');
  if (queryAt === -1) return `${path}?resume=true`;
  const params = new URLSearchParams(path.slice(queryAt + 1));
  if (params.get('resume') === 'true') return path;
  params.set('resume', 'true');
  return `${path.slice(0, queryAt)}?${params.toString()}`;
}

/** The server's 'connect' listener: the gateway tunnels nothing, so a CONNECT is answered 400 and closed. */
export function answerConnect(req: IncomingMessage, socket: Duplex): void {
  const body = errorBody(new GatewayError('invalid_request', 'The gateway does not tunnel connections (CONNECT).'), resolveRequestId(req.headers));
  socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
