// Which chat bodies the gateway reads: only those LibreChat's body parsers would read exactly as the gateway
// does. LibreChat (api/server/index.js) mounts `express.json` then `express.urlencoded`; in Express 5 these
// are body-parser 2: `json` parses a body whose media type is `application/json` (type-is, case-insensitive,
// parameters ignored; not `application/*+json`) in any charset starting with `utf-` (so UTF-7 and UTF-16
// too, decoded by iconv-lite), after inflating a gzip/deflate/br Content-Encoding; `urlencoded` parses
// `application/x-www-form-urlencoded` into other fields than a JSON reading of the same bytes. Both read the
// header with the `content-type` package's grammar and skip a header it rejects. The gateway reads the body
// as UTF-8 JSON, so it accepts exactly the intersection: media type `application/json`, charset absent or
// `utf-8`, no content coding; everything else is 400 invalid_request and never forwarded.
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.ts';

// RFC 7231 media-type grammar, as the `content-type` package applies it (token / token, then `; name=value`
// pairs whose value is a token or a quoted-string, optional spaces around `;` and `=`).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}$`);
const QUOTED = '"(?:[\\u000b\\u0020\\u0021\\u0023-\\u005b\\u005d-\\u007e\\u0080-\\u00ff]|\\\\[\\u000b\\u0020-\\u00ff])*"';
const PARAMETER = new RegExp(`; *(${TOKEN}) *= *(${QUOTED}|${TOKEN}) *`, 'y');

interface MediaType {
  type: string;
  parameters: Map<string, string[]>;
}

/** The parsed header, or undefined where the `content-type` grammar rejects it. */
function parseMediaType(header: string): MediaType | undefined {
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  if (!MEDIA_TYPE.test(type)) return undefined;
  const parameters = new Map<string, string[]>();
  if (semicolon === -1) return { type, parameters };
  let at = semicolon;
  while (at < header.length) {
    PARAMETER.lastIndex = at;
    const match = PARAMETER.exec(header);
    if (!match) return undefined;
    at = PARAMETER.lastIndex;
    const name = match[1]!.toLowerCase();
    const raw = match[2]!;
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\([\u000b\u0020-\u00ff])/g, '$1') : raw;
    parameters.set(name, [...(parameters.get(name) ?? []), value]);
  }
  return { type, parameters };
}

function refuse(message: string): GatewayError {
  return new GatewayError('invalid_request', message);
}

/**
 * Throws 400 invalid_request unless the body is `application/json` with no charset or a UTF-8 one, and
 * carries no content coding. A repeated charset is refused too (the parser LibreChat uses keeps the last).
 */
export function assertJsonChatBody(headers: IncomingHttpHeaders): void {
  const header = headers['content-type'];
  if (typeof header !== 'string' || header.trim() === '') {
    throw refuse('A chat body must be sent as Content-Type: application/json.');
  }
  const media = parseMediaType(header);
  if (!media || media.type !== 'application/json') {
    throw refuse('A chat body must be sent as Content-Type: application/json.');
  }
  const charsets = media.parameters.get('charset') ?? [];
  if (charsets.length > 1 || (charsets.length === 1 && charsets[0]!.toLowerCase() !== 'utf-8')) {
    throw refuse('A chat body must be UTF-8 JSON: send Content-Type: application/json with no charset or charset=utf-8.');
  }
  const coding = headers['content-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
    throw refuse('A chat body must not be sent with a Content-Encoding.');
  }
}
