// LibreChat's body parsers as Express 5 runs them (api/server/index.js: `express.json` then
// `express.urlencoded({ extended: true })`, body-parser 2): the media type decides which parser reads a body
// (exactly `application/json`, or `application/x-www-form-urlencoded`; anything else is left unparsed), JSON
// accepts every `utf-*` charset (UTF-7 and UTF-16 too) and form bodies UTF-8 or ISO-8859-1, and a
// gzip/deflate/br Content-Encoding is inflated first. The fake reads bodies this way so that tests can show
// what LibreChat would make of a body the gateway refuses.
import type { IncomingMessage } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

export type ParsedBody =
  | { ok: true; body: unknown; parsed: boolean }
  | { ok: false; status: number; message: string };

function mediaType(req: IncomingMessage): { type: string; charset: string | undefined } {
  const header = req.headers['content-type'] ?? '';
  const [type = '', ...params] = header.split(';');
  const charsetParam = params.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('charset='));
  const charset = charsetParam?.slice('charset='.length).replace(/^"(.*)"$/, '$1').toLowerCase();
  return { type: type.trim().toLowerCase(), charset };
}

/** RFC 2152 UTF-7, as iconv-lite decodes it: `+<modified base64>-` runs are UTF-16BE, `+-` is a plus sign. */
export function decodeUtf7(input: string): string {
  return input.replace(/\+([A-Za-z0-9/+]*)-?/g, (run, base64: string) => {
    if (base64 === '') return run === '+-' ? '+' : run;
    const bytes = Buffer.from(base64, 'base64');
    const units = Buffer.alloc(bytes.length - (bytes.length % 2));
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      units[i] = bytes[i + 1]!;
      units[i + 1] = bytes[i]!;
    }
    return units.toString('utf16le');
  });
}

function inflate(buffer: Buffer, coding: string): Buffer | undefined {
  if (coding === 'identity') return buffer;
  if (coding === 'gzip') return gunzipSync(buffer);
  if (coding === 'deflate') return inflateSync(buffer);
  if (coding === 'br') return brotliDecompressSync(buffer);
  return undefined;
}

function decode(buffer: Buffer, charset: string): string | undefined {
  if (charset === 'utf-7') return decodeUtf7(buffer.toString('latin1'));
  if (charset === 'iso-8859-1') return buffer.toString('latin1');
  try {
    return new TextDecoder(charset, { fatal: false }).decode(buffer);
  } catch {
    return undefined;
  }
}

/** What `req.body` would be in LibreChat for these bytes; `parsed` false when no parser took the body. */
export function parseLikeLibreChat(req: IncomingMessage, raw: Buffer): ParsedBody {
  const { type, charset } = mediaType(req);
  const isJson = type === 'application/json';
  const isForm = type === 'application/x-www-form-urlencoded';
  if ((!isJson && !isForm) || raw.length === 0) return { ok: true, body: {}, parsed: false };
  const effective = charset ?? 'utf-8';
  if (isJson ? !effective.startsWith('utf-') : effective !== 'utf-8' && effective !== 'iso-8859-1') {
    return { ok: false, status: 415, message: `unsupported charset "${effective.toUpperCase()}"` };
  }
  const coding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  let buffer: Buffer | undefined;
  try {
    buffer = inflate(raw, coding);
  } catch {
    return { ok: false, status: 400, message: 'invalid compressed body' };
  }
  if (!buffer) return { ok: false, status: 415, message: `unsupported content encoding "${coding}"` };
  const text = decode(buffer, effective);
  if (text === undefined) return { ok: false, status: 415, message: `unsupported charset "${effective.toUpperCase()}"` };
  if (isForm) return { ok: true, body: Object.fromEntries(new URLSearchParams(text)), parsed: true };
  try {
    return { ok: true, body: JSON.parse(text) as unknown, parsed: true };
  } catch {
    return { ok: false, status: 400, message: 'Invalid JSON body' };
  }
}
