// Test-only routes under /__fake/ (echo, timed SSE, malformed and reset connections, the control API).
import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { readJsonBody, type Ctx } from './context.ts';
import {
  isJsonRequest, isObject, LOG_BODY_LIMIT, messageFrame, sendJson, str, tryParseJson, writeStreamHeaders,
} from './http-util.ts';
import { parseScenario } from './scenario.ts';

interface Digest {
  bytes: number;
  sha256: string;
  /** The body itself, only when smaller than LOG_BODY_LIMIT. */
  small: Buffer | null;
}

/** Streams the request body through sha256; undefined when the client went away mid-body. */
async function digestBody(ctx: Ctx): Promise<Digest | undefined> {
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of ctx.req) {
      const buffer = chunk as Buffer;
      hash.update(buffer);
      bytes += buffer.length;
      if (bytes < LOG_BODY_LIMIT) kept.push(buffer);
      else kept.length = 0;
    }
  } catch {
    return undefined;
  }
  if (!ctx.req.complete) return undefined;
  const small = bytes < LOG_BODY_LIMIT ? Buffer.concat(kept) : null;
  if (ctx.entry) {
    ctx.entry.bodyBytes = bytes;
    if (small && isJsonRequest(ctx.req)) ctx.entry.body = tryParseJson(small) ?? null;
  }
  return { bytes, sha256: hash.digest('hex'), small };
}

function intParam(value: string | null, fallback: number): number {
  const n = value === null ? NaN : Number.parseInt(value, 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** Response headers a test asked for through `x-fake-response-headers: {json}`. */
function requestedHeaders(ctx: Ctx): Record<string, string> {
  const raw = ctx.req.headers['x-fake-response-headers'];
  const parsed = typeof raw === 'string' ? tryParseJson(Buffer.from(raw)) : undefined;
  const out: Record<string, string> = {};
  if (!isObject(parsed)) return out;
  for (const [name, value] of Object.entries(parsed)) out[name] = String(value);
  return out;
}

/** `ANY /__fake/echo/*`: what arrived, with status, slow headers, cookies, gzip and headers on request. */
export async function echo(ctx: Ctx): Promise<void> {
  const digest = await digestBody(ctx);
  if (!digest) return;
  const query = ctx.url.searchParams;
  const delayMs = intParam(query.get('delayHeadersMs'), 0);
  if (delayMs > 0) await delay(delayMs);
  const answer: Record<string, unknown> = {
    method: ctx.req.method,
    url: ctx.req.url,
    headers: ctx.req.headers,
    bodyBytes: digest.bytes,
    bodySha256: digest.sha256,
  };
  if (digest.small) answer.body = digest.small.toString('utf8');
  const headers: OutgoingHttpHeaders = { 'Content-Type': 'application/json; charset=utf-8', ...requestedHeaders(ctx) };
  const cookies = query.getAll('setCookie');
  if (cookies.length > 0) headers['Set-Cookie'] = cookies;
  let payload = Buffer.from(JSON.stringify(answer));
  const acceptsGzip = /\bgzip\b/i.test(ctx.req.headers['accept-encoding'] ?? '');
  if (query.get('gzip') === '1' && acceptsGzip) {
    payload = gzipSync(payload);
    headers['Content-Encoding'] = 'gzip';
    headers.Vary = 'Accept-Encoding';
  }
  if (ctx.res.destroyed) return;
  ctx.res.writeHead(intParam(query.get('status'), 200), headers);
  ctx.res.end(payload);
}

/** `GET /__fake/sse?frames=N&intervalMs=M`: N `event: message` frames `{n, t}` (n from 0), then the end. */
export async function timedSse(ctx: Ctx): Promise<void> {
  const frames = intParam(ctx.url.searchParams.get('frames'), 20);
  const intervalMs = intParam(ctx.url.searchParams.get('intervalMs'), 50);
  const controller = new AbortController();
  ctx.res.once('close', () => controller.abort());
  writeStreamHeaders(ctx.res);
  const startedAt = Date.now();
  try {
    for (let n = 0; n < frames; n++) {
      if (n > 0) await delay(intervalMs, undefined, { signal: controller.signal });
      ctx.res.write(messageFrame({ n, t: Date.now() - startedAt }));
    }
    ctx.res.end();
  } catch {
    // The client left; nothing more to send.
  }
}

/** `GET /__fake/garbage`: bytes that are not HTTP, written under the server's HTTP handling. */
export function garbage(ctx: Ctx): void {
  if (ctx.entry) ctx.entry.serverClosed = true;
  ctx.req.socket.end('HTTP/1.1 2x0 Garbage\r\nnot a header line\r\n\r\n\u0000\u0001\u0002');
}

/** `GET /__fake/reset-socket`: a TCP reset, no answer at all. */
export function resetSocket(ctx: Ctx): void {
  if (ctx.entry) ctx.entry.serverClosed = true;
  ctx.req.socket.resetAndDestroy();
}

const CONTROL_BODY_LIMIT = 1024 * 1024;

/** The control API; true when `pathname` was one of its routes. */
export async function control(ctx: Ctx, pathname: string): Promise<boolean> {
  const { state, res } = ctx;
  const method = ctx.req.method ?? 'GET';
  const route = `${method} ${pathname}`;
  if (route === 'GET /__fake/log') sendJson(res, 200, state.log.list());
  else if (route === 'GET /__fake/jobs') sendJson(res, 200, state.jobs.list());
  else if (route === 'POST /__fake/reset') {
    state.jobs.reset();
    state.log.clear();
    state.agents.clear();
    state.sessions.clear();
    state.modelSpecs = null;
    state.files.clear();
    state.defaults = { ...state.baseDefaults };
    sendJson(res, 200, { ok: true });
  } else if (route === 'POST /__fake/defaults') {
    const body = await readJsonBody(ctx, CONTROL_BODY_LIMIT);
    if (!body) return true;
    state.defaults = { ...state.defaults, ...parseScenario(body) };
    sendJson(res, 200, state.defaults);
  } else if (route === 'POST /__fake/agents') {
    const body = await readJsonBody(ctx, CONTROL_BODY_LIMIT);
    if (!body) return true;
    const id = str(body.id);
    if (!id) {
      sendJson(res, 400, { error: 'id is required' });
      return true;
    }
    const agent = { ...body, id, model: str(body.model) ?? 'gpt-4o', provider: str(body.provider) ?? 'openAI' };
    state.agents.set(id, agent);
    sendJson(res, 200, agent);
  } else if (route === 'POST /__fake/model-specs') {
    const body = await readJsonBody(ctx, CONTROL_BODY_LIMIT);
    if (!body) return true;
    state.modelSpecs = body.modelSpecs ?? null;
    sendJson(res, 200, { modelSpecs: state.modelSpecs });
  } else return false;
  return true;
}
