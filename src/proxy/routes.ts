// Decides what a client request is: a metered chat start, a quota-checked follow-up, a stream or abort
// that needs a token, or plain pass-through. LibreChat's Express router matches paths case-insensitively
// and ignores a trailing slash, so we classify on the same view of the path; and a path under the chat
// prefixes that Express and we could read differently (dot segments, doubled or encoded slashes,
// backslashes) is refused instead of guessed at, so no spelling of a chat route can skip metering.

export type RouteKind =
  | 'chat_start' // POST /api/agents/chat[/:endpoint]: admission with a hold, metered from the stream
  | 'assistants_chat' // POST /api/assistants/v1|v2/chat: admission, metered from the POST's own SSE
  | 'openai_chat' // POST /api/agents/v1/chat/completions | /responses: admission, usage chunk metered
  | 'quota_check' // POST /api/agents/chat/resume | steer*: identity + quota state, no hold
  | 'stream' // GET /api/agents/chat/stream/:streamId
  | 'abort' // POST /api/agents/chat/abort, /api/assistants/v1|v2/chat/abort
  | 'ambiguous_path' // a chat-prefixed path spelled in a way that could be read two ways
  | 'pass';

export interface ClientRoute {
  kind: RouteKind;
  /** The `:endpoint` of a chat start (as the client spelled it), or the assistants version. */
  endpoint?: string;
  streamId?: string;
}

const RESERVED_CHAT_SEGMENTS = new Set(['abort', 'resume', 'stream', 'active', 'status']);
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

export function classifyRoute(method: string, rawUrl: string): ClientRoute {
  const queryAt = rawUrl.indexOf('?');
  const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
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

  if (area === 'agents' && third === 'chat') {
    if (fourth === undefined) return isPost ? { kind: 'chat_start' } : { kind: 'pass' };
    if (fourth === 'stream' && fifth !== undefined && sixth === undefined && method === 'GET') {
      return { kind: 'stream', streamId: decodeURIComponent(segments[4] ?? '') };
    }
    if (fourth === 'abort' && fifth === undefined) return isPost ? { kind: 'abort' } : { kind: 'pass' };
    if (fourth === 'resume' || fourth === 'steer') {
      return isPost ? { kind: 'quota_check', endpoint: fourth } : { kind: 'pass' };
    }
    if (!RESERVED_CHAT_SEGMENTS.has(fourth) && fifth === undefined && isPost) {
      return { kind: 'chat_start', endpoint: decodeURIComponent(segments[3] ?? '') };
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
