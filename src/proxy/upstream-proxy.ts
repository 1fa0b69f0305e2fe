// Forwards one client request to LibreChat with http-proxy over a keep-alive agent, streaming both ways.
// What http-proxy leaves to us: a headers timeout (504), mapping connection failures to 502 in our error
// shape, passing a client disconnect on to LibreChat (http-proxy only reacts to 'aborted', which Node
// does not emit once the body was read), and ending the client response when LibreChat's is cut.
// What it gets wrong and we correct: it rewrites the path (url.parse escapes `'` and `{|}^`, its urlJoin
// collapses `//`), so the client's raw path is put back; it sends a chunked DELETE/OPTIONS body under
// `Content-Length: 0` (and Node a chunked GET body with no framing at all), which LibreChat would read as a
// second request on the shared connection, so a chunked body stays chunked; and its `Connection:
// keep-alive` answer would override a client's `Connection: close`.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { parse as parseUrl } from 'node:url';
import httpProxy from 'http-proxy';
import { GatewayError } from '../errors.ts';
import { sendError } from '../http/respond.ts';
import type { Logger } from '../log.ts';
import { stripHopByHop } from './headers.ts';

export interface ForwardOptions {
  requestId: string;
  /** A body the gateway already read; re-sent byte for byte instead of piping the client stream. */
  body?: Buffer;
  /** Ask LibreChat for an uncompressed response so the gateway can read it (metered routes). */
  identityEncoding?: boolean;
  /** Headers added to the client response (quota headers). */
  responseHeaders?: Record<string, string>;
  /**
   * Called with LibreChat's response before its headers go to the client. Setting it hands the upstream
   * request's lifetime to the caller: a client that leaves no longer cuts it (the caller must bound it).
   */
  onUpstreamResponse?: (upstreamRes: IncomingMessage) => void;
  /** The caller writes the client response itself (from onUpstreamResponse) instead of http-proxy piping it. */
  selfHandleResponse?: boolean;
  /** Keep the upstream request going when the client leaves (a chat start LibreChat may already have taken). */
  keepUpstreamOnClientClose?: boolean;
  /**
   * Called once when forwarding fails before LibreChat answered; the client has already been answered.
   * After LibreChat's answer began, whoever reads it (onUpstreamResponse) sees the failure instead.
   */
  onFailure?: (error: GatewayError) => void;
  /** Called with the gateway's own error answer before it is written (a chat's refusal adds LibreChat's fields). */
  describeFailure?: (error: GatewayError) => void;
}

export interface UpstreamProxy {
  forward(clientReq: IncomingMessage, clientRes: ServerResponse, options: ForwardOptions): void;
  agent: http.Agent;
  close(): void;
}

interface UpstreamProxyDeps {
  target: URL;
  headersTimeoutMs: number;
  logger: Logger;
  onUpstreamError?: (code: string) => void;
}

const HEADERS_TIMEOUT = 'UPSTREAM_HEADERS_TIMEOUT';
/** What Node's http client accepts as a request path (its own INVALID_PATH_REGEX, negated). */
const VALID_PATH = /^[\u0021-\u00ff]+$/;

/** True when the client framed its body as chunked (the header itself was stripped as hop-by-hop). */
function hasChunkedBody(req: IncomingMessage): boolean {
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    // The length first: lower-casing every header name of every request made a string each.
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
  }
  return false;
}

// What forward() was told about a request, and whether LibreChat answered it, kept on the request itself:
// a WeakMap and a WeakSet entry per request were a measurable share of a pass-through (bench/README.md, round G).
const FORWARDED = Symbol('geko.forwardOptions');
const ANSWERED = Symbol('geko.answered');
type ForwardedRequest = IncomingMessage & { [FORWARDED]?: ForwardOptions; [ANSWERED]?: true };

export function createUpstreamProxy(deps: UpstreamProxyDeps): UpstreamProxy {
  const isHttps = deps.target.protocol === 'https:';
  // Idle pooled sockets are dropped after 4 s, before LibreChat's (Node's default 5 s keep-alive) closes
  // them: reusing a socket the server is closing is the classic keep-alive race (ECONNRESET → 502).
  // Node's agent applies this timeout only to free sockets; requests in flight are not timed out by it.
  const agentOptions = { keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, scheduling: 'lifo' as const, timeout: 4_000 };
  const agent = isHttps ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  // The target parsed once, as http-proxy parses a string target (url.parse), instead of once per request.
  const target = parseUrl(deps.target.origin);
  const proxy = httpProxy.createProxyServer({ target, agent, xfwd: true, ws: false });

  proxy.on('proxyReq', (upstreamReq, clientReq: ForwardedRequest, clientRes) => {
    const options = clientReq[FORWARDED];
    if (!upstreamReq.headersSent) {
      if (clientReq.url && VALID_PATH.test(clientReq.url)) upstreamReq.path = clientReq.url;
      if (hasChunkedBody(clientReq)) {
        upstreamReq.removeHeader('content-length');
        upstreamReq.setHeader('transfer-encoding', 'chunked');
      }
    }
    if (options?.identityEncoding) upstreamReq.setHeader('accept-encoding', 'identity');
    // Cleared when the request closes; headers that came in time leave it nothing to do (Node sets the
    // request's `res`, untyped, before it emits 'response'): one listener instead of a 'response' one too.
    const timer = setTimeout(() => {
      if (!(upstreamReq as { res?: IncomingMessage | null }).res) upstreamReq.destroy(Object.assign(new Error('no response headers in time'), { code: HEADERS_TIMEOUT }));
    }, deps.headersTimeoutMs);
    upstreamReq.once('close', () => clearTimeout(timer));
    // A metered answer belongs to whoever reads it (onUpstreamResponse): a client that leaves does not cut
    // LibreChat's run short of the usage it reports at its end (DESIGN.md, Metering); that reader bounds it.
    if (!options?.keepUpstreamOnClientClose && !options?.onUpstreamResponse) {
      clientRes.once('close', () => {
        if (!clientRes.writableFinished) upstreamReq.destroy();
      });
    }
  });

  // http-proxy does not call a request's error callback for a reset once the client's socket is gone
  // (it emits 'econnreset' instead): without this, a request whose client left before LibreChat answered
  // would leave its hold open until the sweeper.
  proxy.on('econnreset', (_error, clientReq: ForwardedRequest) => {
    const options = clientReq[FORWARDED];
    if (options && !clientReq[ANSWERED]) options.onFailure?.(new GatewayError('upstream_unavailable', 'The client left before LibreChat answered.'));
  });

  proxy.on('proxyRes', (upstreamRes, clientReq: ForwardedRequest, clientRes) => {
    const options = clientReq[FORWARDED];
    clientReq[ANSWERED] = true;
    stripHopByHop(upstreamRes.headers);
    // http-proxy fills an absent Connection with keep-alive, which would make Node keep a socket the client closes.
    if (!clientRes.shouldKeepAlive) upstreamRes.headers.connection = 'close';
    delete upstreamRes.headers['x-request-id'];
    // Defensive: should anything have answered already, setting a header now would throw out of this event
    // and take the process down.
    if (options && !clientRes.headersSent) {
      clientRes.setHeader('x-request-id', options.requestId);
      const extra = options.responseHeaders;
      if (extra) for (const name of Object.keys(extra)) clientRes.setHeader(name, extra[name]!);
    }
    upstreamRes.once('close', () => {
      // A response LibreChat did not finish must not look finished to the client.
      if (!upstreamRes.complete && !clientRes.writableEnded && !options?.selfHandleResponse) clientRes.destroy();
    });
    options?.onUpstreamResponse?.(upstreamRes);
  });

  function forward(clientReq: ForwardedRequest, clientRes: ServerResponse, options: ForwardOptions): void {
    if (clientRes.destroyed && !options.keepUpstreamOnClientClose) {
      // The client left while the gateway was deciding (admission): nothing to forward, and whoever took
      // a hold for this request must give it back, since LibreChat never saw it.
      options.onFailure?.(new GatewayError('upstream_unavailable', 'The client left before the request was forwarded.'));
      return;
    }
    clientReq[FORWARDED] = options;
    const onError = (error: Error) => {
      const code = (error as NodeJS.ErrnoException).code;
      const failure = code === HEADERS_TIMEOUT ? new GatewayError('upstream_timeout') : new GatewayError('upstream_unavailable');
      if (clientRes.headersSent) {
        clientRes.destroy();
      } else if (!clientRes.destroyed) {
        options.describeFailure?.(failure);
        sendError(clientRes, failure, options.requestId);
      }
      deps.logger.warn('upstream failed', { request_id: options.requestId, code: failure.code, cause: code });
      deps.onUpstreamError?.(code ?? failure.code);
      if (!clientReq[ANSWERED]) options.onFailure?.(failure);
    };
    const buffer = options.body ? Readable.from([options.body]) : undefined;
    proxy.web(clientReq, clientRes, { ...(buffer ? { buffer } : {}), selfHandleResponse: options.selfHandleResponse === true }, onError);
  }

  return {
    forward,
    agent,
    close: () => {
      proxy.close();
      agent.destroy();
    },
  };
}
