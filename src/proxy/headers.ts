// Header policy between the client and LibreChat: hop-by-hop headers are connection-scoped and never
// forwarded (RFC 9110 §7.6.1, plus the legacy Keep-Alive/Proxy-Connection of RFC 2616 §13.5.1);
// identity headers a client could forge are dropped and set by the gateway from what it verified.
// Upgrade is dropped too (the gateway tunnels no protocol switch), and so is `Expect: 100-continue`, which
// Node's server already answered on the client's hop.
import type { IncomingHttpHeaders } from 'node:http';
import type { TrustProxy } from '../http/client-address.ts';

const HOP_BY_HOP = [
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate',
];
/** Headers that only the gateway may tell LibreChat. */
const CLIENT_FORBIDDEN = ['x-tenant-id'];
/** Met on the client's hop; forwarded, it would also make Node write the upstream request head at once. */
const CLIENT_HOP_ONLY = ['expect'];
const CLIENT_DROPPED = [...CLIENT_FORBIDDEN, ...CLIENT_HOP_ONLY];
const FORWARDED = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded'];
const FLY_UNSET = ['x-forwarded-host'];

/** Deletes only what is there: `delete` of a present key is what costs (the object leaves V8's fast mode). */
function drop(headers: IncomingHttpHeaders, names: readonly string[]): void {
  for (const name of names) if (headers[name] !== undefined) delete headers[name];
}

/** Removes hop-by-hop headers, including any header the Connection header names. */
export function stripHopByHop(headers: IncomingHttpHeaders): void {
  const connection = headers.connection;
  if (typeof connection === 'string') {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) delete headers[name];
    }
  }
  drop(headers, HOP_BY_HOP);
}

/** Prepares the client's headers for the upstream request, in place. */
export function prepareUpstreamHeaders(headers: IncomingHttpHeaders, trustProxy: TrustProxy): void {
  // No Upgrade either: the gateway's server takes no 'upgrade' event, so a switch could not be tunnelled.
  stripHopByHop(headers);
  drop(headers, CLIENT_DROPPED);
  // Without a trusted proxy in front, client-sent X-Forwarded-* are lies; http-proxy then adds the real ones.
  if (!trustProxy) drop(headers, FORWARDED);
  // Fly's proxy sets X-Forwarded-For/-Proto/-Port but not -Host: one that arrives was written by the client.
  else if (trustProxy.kind === 'fly') drop(headers, FLY_UNSET);
}

/** A single cookie's value from the Cookie header. */
export function readCookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  const cookie = headers.cookie;
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return undefined;
}
