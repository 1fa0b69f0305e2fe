// Decides what a client request is: a metered chat start, a quota-checked follow-up, a stream or abort
// that needs a token, or plain pass-through. It reads the target request-target.ts decided (origin-form,
// no fragment, decodable), the same string that is forwarded. LibreChat's Express 5 router matches paths
// case-insensitively, ignores one trailing slash, routes HEAD as GET, and percent-decodes `:params`, so we
// classify on the same view of the path; and a path under the chat prefixes that Express and we could
// read differently (dot segments, doubled or encoded slashes, backslashes) is refused instead of guessed
// at, so no spelling of a chat route can skip metering. Every method Express routes to a handler counts:
// LibreChat registers `chat/stream|active|status` for GET only, so a POST to them falls through to
// `chat.js`'s `router.post('/:endpoint')` and starts a chat (test/express-oracle.test.ts holds this
// against Express itself).

export type RouteKind =
  | 'chat_start' // POST /api/agents/chat[/:endpoint]: admission with a hold, metered from the stream
  | 'assistants_chat' // POST /api/assistants/v1|v2/chat: admission, metered from the POST's own SSE
  | 'openai_chat' // POST /api/agents/v1/chat/completions | /responses: admission, usage chunk metered
  | 'quota_check' // POST /api/agents/chat/resume | steer*: identity + quota state, no hold
  | 'stream' // GET or HEAD /api/agents/chat/stream/:streamId
  | 'abort' // POST /api/agents/chat/abort, /api/assistants/v1|v2/chat/abort
  | 'ambiguous_path' // a chat-prefixed path spelled in a way that could be read two ways
  | 'invalid_target' // a request target request-target.ts refused (not a path or URL, undecodable)
  | 'pass';

export interface ClientRoute {
  kind: RouteKind;
  /** The `:endpoint` of a chat start (as the client spelled it), or the assistants version. */
  endpoint?: string;
  streamId?: string;
}

/**
 * Second segments that are not a chat start on POST: `abort` (its own handler), `resume` and `steer` (their
 * own handlers, quota-checked). `stream`, `active` and `status` are NOT among them: LibreChat routes only
 * their GETs (api/server/routes/agents/index.js), so `POST /chat/stream` reaches `/:endpoint`.
 */
const POST_HANDLED_SEGMENTS = new Set(['abort', 'resume', 'steer']);
const GUARDED_PREFIXES = ['/api/agents', '/api/assistants'];

function isGuarded(lowerPath: string): boolean {
  return GUARDED_PREFIXES.some((p) => lowerPath === p || lowerPath.startsWith(`${p}/`));
}

/** True when the raw path has a form that routers normalise differently. */
function isAmbiguous(rawPath: string): boolean {
  return (
    rawPath.includes('//') ||
    rawPath.includes('\\') ||
    /%2f|%5c|%2e/i.test(rawPath) ||
    /(^|\/)\.\.?(\/|$)/.test(rawPath)
  );
}

/** A `:param` as Express hands it to the handler; request-target.ts already refused what cannot decode. */
function decodeParam(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Classifies the decided request target (request-target.ts): origin-form path and query, no fragment. */
export function classifyRoute(method: string, target: string): ClientRoute {
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const lower = rawPath.toLowerCase();
  // Collapse what a lenient router would collapse, only to notice that it is a chat path.
  const loose = lower.replace(/\\/g, '/').replace(/%2f/g, '/').replace(/\/{2,}/g, '/');
  if (isGuarded(loose) && isAmbiguous(rawPath)) return { kind: 'ambiguous_path' };
  if (!isGuarded(lower)) return { kind: 'pass' };

  const segments = rawPath.replace(/\/+$/, '').split('/').slice(1);
  const lowerSegments = segments.map((s) => s.toLowerCase());
  const [api, area, third, fourth, fifth, sixth] = lowerSegments;
  if (api !== 'api') return { kind: 'pass' };
  const isPost = method === 'POST';
  // Express answers a HEAD with the GET route's handler (router's Route#_handlesMethod).
  const isGet = method === 'GET' || method === 'HEAD';

  if (area === 'agents' && third === 'chat') {
    if (fourth === undefined) return isPost ? { kind: 'chat_start' } : { kind: 'pass' };
    if (fourth === 'stream' && fifth !== undefined && sixth === undefined && isGet) {
      return { kind: 'stream', streamId: decodeParam(segments[4] ?? '') };
    }
    if (!isPost) return { kind: 'pass' };
    if (fourth === 'abort' && fifth === undefined) return { kind: 'abort' };
    if (fourth === 'resume' || fourth === 'steer') return { kind: 'quota_check', endpoint: fourth };
    if (!POST_HANDLED_SEGMENTS.has(fourth) && fifth === undefined) {
      return { kind: 'chat_start', endpoint: decodeParam(segments[3] ?? '') };
    }
    return { kind: 'pass' };
  }
  if (area === 'agents' && third === 'v1' && isPost) {
    const rest = lowerSegments.slice(3).join('/');
    if (rest === 'chat/completions' || rest === 'responses') return { kind: 'openai_chat', endpoint: rest };
    return { kind: 'pass' };
  }
  if (area === 'assistants' && (third === 'v1' || third === 'v2') && fourth === 'chat' && isPost) {
    if (fifth === undefined) return { kind: 'assistants_chat', endpoint: third };
    if (fifth === 'abort' && sixth === undefined) return { kind: 'abort' };
  }
  return { kind: 'pass' };
}
