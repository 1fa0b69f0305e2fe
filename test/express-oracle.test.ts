// The differential test of issue 12: LibreChat's own router (Express 5, mounted as LibreChat mounts its
// chat routes: test/helpers/librechat-oracle/) is the oracle of which handler a request line reaches.
// fast-check generates request lines (absolute-form with any scheme, host, port and case; path case;
// trailing, doubled and backslash separators; dot segments; percent-encoded letters, slashes and dots;
// `;` parameters; query and fragment tricks; Unicode; very long paths; every method, HEAD included; a
// method-override header) and sends them through the gateway, pointed at the oracle, on raw sockets.
// Invariants, for every request:
// - Express ran a chat-start, OpenAI-compatible or assistants chat handler only for a request the gateway
//   admitted (its X-Request-Id has a chat_usage row); a refused one never reached Express;
// - Express ran a stream or abort handler only for a request that carried the token the gateway verified;
// - the client got an HTTP answer.
// Seeded and reproducible; BATCHES × BATCH_SIZE request lines per run.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { librechatToken } from './helpers/jwt.ts';
import { startOracleProcess, type OracleProcess } from './helpers/librechat-oracle/process.ts';
import { CHAT_HANDLERS, TOKEN_HANDLERS } from './helpers/librechat-oracle/routes.ts';
import { rawRequest } from './helpers/raw-request.ts';
import { seedWorkspace } from './helpers/seed.ts';

const SEED = 20_261_204;
const BATCHES = 80;
const BATCH_SIZE = 50;
const PARALLEL = 8;

/** Routes whose spellings are mutated, with the method LibreChat routes them for: every chat, stream and
 * abort route, their neighbours, and two others. A case takes that method most of the time. */
const BASE_ROUTES: [string, string][] = [
  ['POST', '/api/agents/chat'], ['POST', '/api/agents/chat/openAI'], ['POST', '/api/agents/chat/agents'],
  ['POST', '/api/agents/chat/stream'], ['POST', '/api/agents/chat/active'], ['POST', '/api/agents/chat/status'],
  ['POST', '/api/agents/chat/abort'], ['POST', '/api/agents/chat/resume'], ['POST', '/api/agents/chat/steer'],
  ['GET', '/api/agents/chat/stream/s1'], ['GET', '/api/agents/chat/status/s1'], ['GET', '/api/agents/chat/active'],
  ['POST', '/api/agents/chat/duplicate'], ['POST', '/api/agents/v1/chat/completions'], ['POST', '/api/agents/v1/responses'],
  ['GET', '/api/agents/v1/models'], ['GET', '/api/agents/a1'], ['POST', '/api/assistants/v1/chat'], ['POST', '/api/assistants/v2/chat'],
  ['POST', '/api/assistants/v1/chat/abort'], ['POST', '/api/assistants/v2/chat/abort'], ['GET', '/api/config'], ['GET', '/c/new'],
];
const METHODS = ['POST', 'GET', 'HEAD', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'post', 'Post', 'PROPFIND', 'SEARCH', 'TRACE', 'CONNECT'];
/** What may stand where a `/` stood before a segment. */
const SEPARATORS = ['//', '\\', '%2F', '%2f', '%5C', '%5c', '/./', '/x/../', '/%2e/', '/%2E%2e/', '/;/', '/.%2e/'];
const SUFFIXES = [';', ';x=1', '%20', '.', '%2e', '%00', '%09'];
const SCHEMES = ['http', 'https', 'HTTP', 'hTtPs', 'ws', 'foo'];
const HOSTS = ['h', 'Gateway.Test', 'evil.example:8080', '127.0.0.1:1', '[::1]:80', 'user@h', 'h:', 'H.'];
const TAILS = ['/', '//', '/x', '/%C3%A9', '/%F0%9F%98%80', '/%E0%A4%A', '/%C0%AF', '/%', '/%zz', '/\u00e9', '/.', '/..', ';x=1', '%20', '%00'];
const QUERIES = ['', '', '', '', '', '', '?', '?x=1', '?resume=true', '?a=%E0', '?x=/../abort', '?#'];
const FRAGMENTS = ['', '', '', '', '', '', '#', '#x', '#/x', '#?y', '#/../abort', '#/stream/s1'];

type Auth = 'valid' | 'none' | 'bogus';
interface Case {
  method: string;
  target: string;
  auth: Auth;
  model: string;
  override: string | undefined;
}

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);

/** One change to one segment of a path; a case gets up to three (most get none or one). */
interface Mutation { kind: 'case' | 'escape' | 'suffix' | 'separator'; at: number; arg: number }
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: pick(['case', 'case', 'escape', 'escape', 'suffix', 'separator'] as const),
  at: fc.nat(),
  arg: fc.nat(),
});

function percentEncodeOne(segment: string, at: number, upperHex: boolean): string {
  if (segment.length === 0) return segment;
  const i = at % segment.length;
  const hex = segment.charCodeAt(i).toString(16).padStart(2, '0');
  return `${segment.slice(0, i)}%${upperHex ? hex.toUpperCase() : hex}${segment.slice(i + 1)}`;
}

function spellPath(base: string, mutations: Mutation[], tail: string): string {
  const segments = base.split('/').slice(1);
  const separators = segments.map(() => '/');
  for (const { kind, at, arg } of mutations) {
    const i = at % segments.length;
    const segment = segments[i]!;
    if (kind === 'case') segments[i] = [...segment].map((c, k) => ((arg >> (k % 30)) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
    if (kind === 'escape') segments[i] = percentEncodeOne(segment, arg, arg % 2 === 0);
    if (kind === 'suffix') segments[i] = segment + SUFFIXES[arg % SUFFIXES.length];
    if (kind === 'separator') separators[i] = SEPARATORS[arg % SEPARATORS.length]!;
  }
  return segments.map((segment, i) => separators[i] + segment).join('') + tail;
}

const tailArb = fc.oneof(
  { weight: 20, arbitrary: fc.constant('') },
  { weight: 6, arbitrary: pick(TAILS) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => `/${'a'.repeat(n)}`) },
);
const routeArb = fc.tuple(pick(BASE_ROUTES), fc.array(mutationArb, { maxLength: 3 }), tailArb, fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: pick(METHODS) }))
  .map(([[method, base], mutations, tail, otherMethod]) => ({ method: otherMethod ?? method, path: spellPath(base, mutations, tail) }));

const requestLineArb = fc.tuple(routeArb, pick(QUERIES), pick(FRAGMENTS)).chain(([{ method, path }, query, fragment]) => {
  const originForm = `${path}${query}${fragment}`;
  const target = fc.oneof(
    { weight: 5, arbitrary: fc.constant(originForm) },
    { weight: 4, arbitrary: fc.tuple(pick(SCHEMES), pick(HOSTS)).map(([scheme, host]) => `${scheme}://${host}${originForm}`) },
    { weight: 1, arbitrary: pick(['*', 'h:80', `//h${originForm}`, `http:${originForm}`, `http://h${query}${fragment}`]) },
  );
  return target.map((t) => ({ method, target: t }));
});

const caseArb: fc.Arbitrary<Case> = fc.tuple(requestLineArb, fc.record({
  auth: fc.constantFrom<Auth>('valid', 'valid', 'valid', 'none', 'bogus'),
  model: pick(['gpt-4o', 'gpt-4o', 'gpt-4.1']),
  override: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: pick(['GET', 'POST', 'HEAD']) }),
})).map(([line, rest]) => ({ ...line, ...rest }));

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'SEARCH', 'post', 'Post']);

let db: TestDatabase;
let oracle: OracleProcess;
let gw: InProcessGateway;
let port: number;
let token: string;
let sent = 0;
const reached = new Map<string, number>();

beforeAll(async () => {
  [db, oracle] = await Promise.all([createTestDatabase(), startOracleProcess()]);
  gw = await startGateway(db.url, oracle.url);
  port = Number(new URL(gw.url).port);
  const ws = await seedWorkspace(db.sql, { models: ['gpt-4o'], tokensLimit: 2_000_000_000, requestsLimit: 1_000_000 });
  token = await librechatToken(ws.email);
});
afterAll(async () => {
  await gw?.close();
  await oracle?.stop();
  await db?.drop();
});

async function sendCase(c: Case, requestId: string): Promise<number | undefined> {
  const headers: Record<string, string> = { Host: 'gateway.test', 'X-Request-Id': requestId };
  if (c.auth === 'valid') headers.Authorization = `Bearer ${token}`;
  if (c.auth === 'bogus') headers.Authorization = 'Bearer not-a-jwt';
  if (c.override) headers['X-HTTP-Method-Override'] = c.override;
  let body: string | undefined;
  if (BODY_METHODS.has(c.method)) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify({ text: 'Hello', model: c.model, endpoint: 'openAI', conversationId: null });
  }
  return (await rawRequest(port, { line: `${c.method} ${c.target}`, headers, body })).status;
}

async function inParallel<T>(items: T[], limit: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await run(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Every way one batch broke an invariant (empty when it held). */
async function violations(cases: Case[]): Promise<string[]> {
  await oracle.reset();
  const ids = cases.map(() => `fz-${++sent}`);
  const statuses: (number | undefined)[] = [];
  await inParallel(cases, PARALLEL, async (c, i) => { statuses[i] = await sendCase(c, ids[i]!); });
  const records = await oracle.records();
  const admitted = new Set((await db.sql<{ request_id: string }[]>`SELECT request_id FROM chat_usage WHERE request_id = ANY(${ids})`).map((r) => r.request_id));
  const byId = new Map(ids.map((id, i) => [id, cases[i]!]));
  const found: string[] = [];
  cases.forEach((c, i) => { if (statuses[i] === undefined) found.push(`no HTTP answer: ${describeCase(c)}`); });
  for (const record of records) {
    reached.set(record.handler, (reached.get(record.handler) ?? 0) + 1);
    const id = String(record.headers['x-request-id'] ?? '');
    const c = byId.get(id);
    const sensitive = CHAT_HANDLERS.has(record.handler) || TOKEN_HANDLERS.has(record.handler);
    // The gateway's own calls (agent lookups) carry no case's id; none may reach a chat or token handler.
    if (!c) {
      if (sensitive) found.push(`${record.handler} ran for a request no case sent: ${record.method} ${record.target}`);
      continue;
    }
    if (CHAT_HANDLERS.has(record.handler) && !admitted.has(id)) found.push(`${record.handler} ran without admission: ${describeCase(c)} → ${record.target}`);
    if (TOKEN_HANDLERS.has(record.handler) && (c.auth !== 'valid' || record.headers.authorization !== `Bearer ${token}`)) {
      found.push(`${record.handler} ran without a verified token: ${describeCase(c)} → ${record.target}`);
    }
  }
  return found;
}

function describeCase(c: Case): string {
  return `${c.method} ${JSON.stringify(c.target).slice(0, 200)} auth=${c.auth} model=${c.model}${c.override ? ` override=${c.override}` : ''}`;
}

describe('the gateway against LibreChat\'s own router (Express 5)', () => {
  it(`holds the invariants over ${BATCHES * BATCH_SIZE} generated request lines`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(caseArb, { minLength: BATCH_SIZE, maxLength: BATCH_SIZE }), async (cases) => {
        const found = await violations(cases);
        expect(found, found.slice(0, 10).join('\n')).toEqual([]);
      }),
      { seed: SEED, numRuns: BATCHES },
    );
    // Not vacuous: the generated lines reached every chat and token handler through the gateway.
    for (const handler of [...CHAT_HANDLERS, ...TOKEN_HANDLERS]) expect(reached.get(handler) ?? 0, handler).toBeGreaterThan(0);
  }, 300_000);
});
