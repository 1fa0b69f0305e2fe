// Who the client is, as far as the proxies in front of the gateway can be believed: its IP (audit rows, the
// dashboard's per-IP sign-in limit) and the host it asked for (tenant choice by host, the dashboard's Origin
// check). A header a client can write is believed only from a hop the operator named in TRUST_PROXY:
//   false  nobody: the socket's peer and the Host header.
//   fly    Fly's proxy: Fly-Client-IP, which Fly's proxy sets (overwriting a client's) on every request it
//          forwards. Fly does not set X-Forwarded-Host, so a client's is ignored and Host is used.
//   N      N proxies in a chain, each appending the address it saw to X-Forwarded-For: the client is the N-th
//          address from the right (the socket's peer counted as the 0-th). Anything left of it was written by
//          the client and is never read. X-Forwarded-Host: the right-most value (the nearest proxy's).
//   CIDRs  proxies by address: from the socket's peer leftwards, every address inside a listed range is a
//          proxy and the first one outside is the client. X-Forwarded-Host only when the peer is a proxy.
// The left-most X-Forwarded-For entry, which most libraries take, is whatever the client sent first.
import { BlockList, isIP } from 'node:net';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export type TrustedProxy =
  | { kind: 'fly' }
  | { kind: 'hops'; hops: number }
  | { kind: 'ranges'; ranges: readonly string[]; list: BlockList };

/** `false` keeps the truthiness older code relied on: anything else trusts some proxy. */
export type TrustProxy = false | TrustedProxy;

const MAX_HOPS = 16;
const FALSE_WORDS = ['false', 'no', 'off'];
const TRUE_WORDS = ['true', 'yes', 'on'];

/**
 * Parses TRUST_PROXY. `true` (and yes/on), the value before hops and ranges existed, means the one proxy in
 * front: Fly's proxy when running on Fly (FLY_MACHINE_ID set), else one hop. Returns a problem text when
 * the value is none of the forms.
 */
export function parseTrustProxy(text: string | undefined, onFly: boolean): TrustProxy | { problem: string } {
  const value = text?.trim().toLowerCase() ?? '';
  if (value === '' || FALSE_WORDS.includes(value)) return false;
  if (TRUE_WORDS.includes(value)) return onFly ? { kind: 'fly' } : { kind: 'hops', hops: 1 };
  if (value === 'fly') return { kind: 'fly' };
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops === 0) return false;
    if (hops <= MAX_HOPS) return { kind: 'hops', hops };
    return { problem: `TRUST_PROXY hop count must be at most ${MAX_HOPS}, got "${text}"` };
  }
  const list = new BlockList();
  const ranges: string[] = [];
  for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
    const range = parseRange(entry);
    if (!range) {
      return { problem: `TRUST_PROXY must be false, true, fly, a hop count (1-${MAX_HOPS}) or a comma-separated list of IP addresses/CIDR ranges; "${entry}" is none of these` };
    }
    list.addSubnet(range.address, range.prefix, range.family);
    ranges.push(`${range.address}/${range.prefix}`);
  }
  return { kind: 'ranges', ranges, list };
}

function parseRange(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : entry.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > bits) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** An IP as audit rows store it: IPv4-mapped IPv6 (Node's dual-stack sockets) written as plain IPv4. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isTrustedRange(list: BlockList, address: string): boolean {
  const plain = plainAddress(address);
  const version = isIP(plain);
  return version !== 0 && list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
}

/** X-Forwarded-For's addresses, left to right (Node joins repeated headers with ", "). */
function forwardedFor(headers: IncomingHttpHeaders): string[] {
  const xff = headers['x-forwarded-for'];
  return typeof xff === 'string' ? xff.split(',').map((a) => a.trim()) : [];
}

/** The addresses a request came through, nearest first: the socket's peer, then X-Forwarded-For right to left. */
function chainFromPeer(req: IncomingMessage, peer: string): string[] {
  return [peer, ...forwardedFor(req.headers).reverse()];
}

/**
 * The first address of the chain that is not a trusted proxy. An entry that is not an IP cannot be a client
 * address a proxy saw, so the hop that wrote it (the entry before) is the best that is known.
 */
function firstUntrusted(chain: string[], trusted: (address: string, index: number) => boolean): string {
  let known = chain[0]!;
  for (let i = 0; i < chain.length; i += 1) {
    const address = chain[i]!;
    if (isIP(address) === 0) return known;
    known = address;
    if (!trusted(address, i)) return address;
  }
  return known;
}

/** The client's IP for audit rows and per-IP limits (at most 45 characters, the column's width). */
export function clientIp(req: IncomingMessage, trust: TrustProxy): string | null {
  const peer = req.socket.remoteAddress;
  if (peer === undefined) return null;
  if (trust === false) return plainAddress(peer);
  let address: string;
  if (trust.kind === 'fly') {
    const fly = req.headers['fly-client-ip'];
    const given = typeof fly === 'string' ? fly.trim() : '';
    address = isIP(given) !== 0 ? given : peer;
  } else if (trust.kind === 'hops') {
    address = firstUntrusted(chainFromPeer(req, peer), (_, index) => index < trust.hops);
  } else {
    address = firstUntrusted(chainFromPeer(req, peer), (candidate) => isTrustedRange(trust.list, candidate));
  }
  return plainAddress(address).slice(0, 45);
}

/** The client's IP (as above) and its User-Agent as it sent it, as audit rows record them. */
export function clientFacts(req: IncomingMessage, trust: TrustProxy): { ipAddress: string | null; userAgent: string | null } {
  const agent = req.headers['user-agent'];
  return { ipAddress: clientIp(req, trust), userAgent: typeof agent === 'string' ? agent : null };
}

/** True when X-Forwarded-Host on this request was written by a proxy the operator trusts. */
function forwardedHostTrusted(req: IncomingMessage, trust: TrustProxy): boolean {
  if (trust === false || trust.kind === 'fly') return false;
  if (trust.kind === 'hops') return true;
  return isTrustedRange(trust.list, req.socket.remoteAddress ?? '');
}

/** The authority the client asked for, lower-case, port kept: Host, or X-Forwarded-Host from a trusted proxy. */
export function clientAuthority(req: IncomingMessage, trust: TrustProxy): string {
  const forwarded = forwardedHostTrusted(req, trust) ? req.headers['x-forwarded-host'] : undefined;
  const raw = typeof forwarded === 'string' && forwarded.trim() ? forwarded.split(',').at(-1)! : req.headers.host ?? '';
  return raw.trim().toLowerCase();
}

/** The request host for tenant resolution: clientAuthority without the port. */
export function clientHost(req: IncomingMessage, trust: TrustProxy): string {
  const host = clientAuthority(req, trust);
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * True when the client reached the first proxy over HTTPS: on this socket, or per the X-Forwarded-Proto of a
 * proxy the operator trusts (its right-most entry: the one the nearest trusted proxy wrote). Fly's proxy sets
 * X-Forwarded-Proto on every request it forwards.
 */
export function clientOverHttps(req: IncomingMessage, trust: TrustProxy): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted === true) return true;
  const trusted = trust !== false && (trust.kind === 'fly' || forwardedHostTrusted(req, trust));
  const proto = trusted ? req.headers['x-forwarded-proto'] : undefined;
  return typeof proto === 'string' && proto.split(',').at(-1)!.trim().toLowerCase() === 'https';
}
