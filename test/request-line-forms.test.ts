// One plain test per request-line form of issue 12 (the README's request-target table): what LibreChat's
// Express 5 router does with it (asked directly of the oracle, test/helpers/librechat-oracle/), and what the
// gateway in front of that same oracle does. Safe outcomes only: a line Express routes to a chat handler is
// admitted (a chat_usage row) or refused before Express sees it; nothing else is admitted or refused
// without a reason written here. test/express-oracle.test.ts generates thousands more of these.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startGateway, type InProcessGateway } from './helpers/gateway.ts';
import { librechatToken } from './helpers/jwt.ts';
import { startOracleProcess, type OracleProcess } from './helpers/librechat-oracle/process.ts';
import { rawRequest } from './helpers/raw-request.ts';
import { seedWorkspace } from './helpers/seed.ts';

/** What the gateway does: admits (and forwards), forwards untouched, or refuses with a status and code. */
type GatewayOutcome = 'admitted' | 'forwarded' | { status: number; code?: string };

interface Form {
  form: string;
  line: string;
  /** The handler Express runs for the line as sent (undefined: Node's parser refuses it first). */
  express: string | undefined;
  gateway: GatewayOutcome;
  anonymous?: boolean;
  headers?: Record<string, string>;
}

const REFUSED = { status: 400, code: 'invalid_request' };
const FORMS: Form[] = [
  { form: 'absolute-form, any case', line: 'POST HTTP://H:8/Api/Agents/Chat/openAI', express: 'agents.chat.start', gateway: 'admitted' },
  { form: 'absolute-form, other scheme', line: 'POST foo://x/api/agents/v1/chat/completions', express: 'agents.openai.completions', gateway: 'admitted' },
  { form: 'scheme-relative lookalike', line: 'POST //h/api/agents/chat/openAI', express: 'fallback', gateway: 'forwarded' },
  { form: 'path case', line: 'POST /API/AGENTS/CHAT/OPENAI', express: 'agents.chat.start', gateway: 'admitted' },
  { form: 'one trailing slash', line: 'POST /api/assistants/v2/chat/', express: 'assistants.v2.chat', gateway: 'admitted' },
  { form: 'two trailing slashes', line: 'POST /api/agents/chat/openAI//', express: 'fallback', gateway: REFUSED },
  { form: 'doubled separator', line: 'POST /api/agents//chat/openAI', express: 'fallback', gateway: REFUSED },
  { form: 'backslash separator', line: 'POST /api/agents/chat\\openAI', express: 'fallback', gateway: REFUSED },
  { form: 'encoded backslash', line: 'POST /api/agents/chat%5CopenAI', express: 'fallback', gateway: REFUSED },
  { form: 'dot segment', line: 'POST /api/agents/./chat/openAI', express: 'fallback', gateway: REFUSED },
  { form: 'dot-dot segment', line: 'POST /api/agents/x/../chat/openAI', express: 'fallback', gateway: REFUSED },
  { form: 'encoded dots as :endpoint', line: 'POST /api/agents/chat/%2E%2E', express: 'agents.chat.start', gateway: REFUSED },
  { form: 'encoded slash in :endpoint', line: 'POST /api/agents/chat/a%2Fb', express: 'agents.chat.start', gateway: REFUSED },
  { form: 'encoded letter as :endpoint', line: 'POST /api/agents/chat/%61bort', express: 'agents.chat.start', gateway: 'admitted' },
  { form: 'encoded letter in a literal segment', line: 'POST /api/agents/ch%61t/openAI', express: 'fallback', gateway: 'forwarded' },
  { form: '; parameter on :endpoint', line: 'POST /api/agents/chat/abort;x', express: 'agents.chat.start', gateway: 'admitted' },
  { form: '; parameter on a mount path', line: 'POST /api/agents;x/chat/openAI', express: 'fallback', gateway: 'forwarded' },
  { form: 'query trick', line: 'POST /api/agents/chat/openAI?x=/../abort', express: 'agents.chat.start', gateway: 'admitted' },
  { form: 'fragment after a query', line: 'POST /api/agents/chat?x#/../abort', express: 'agents.chat.start', gateway: 'admitted' },
  { form: 'fragment with a path', line: 'POST /api/agents/chat/openAI#/x', express: 'agents.chat.start', gateway: 'admitted' },
  { form: 'encoded Unicode :endpoint', line: 'POST /api/agents/chat/%F0%9F%98%80', express: 'agents.chat.start', gateway: 'admitted' },
  { form: 'overlong UTF-8 escape', line: 'POST /api/agents/chat/%C0%AF', express: 'error', gateway: REFUSED },
  { form: 'truncated escape', line: 'POST /api/agents/chat/%E0%A4%A', express: 'error', gateway: REFUSED },
  { form: 'raw Unicode byte', line: 'POST /api/agents/chat/\u00e9', express: undefined, gateway: { status: 400 } },
  // The gateway stores the endpoint name (at most 255 characters): a longer one is refused, never guessed.
  { form: 'very long :endpoint', line: `POST /api/agents/chat/${'a'.repeat(8_000)}`, express: 'agents.chat.start', gateway: REFUSED },
  { form: 'request line past 16 KiB', line: `POST /api/agents/chat/${'a'.repeat(17_000)}`, express: undefined, gateway: { status: 431 } },
  { form: 'POST on a GET-only name (C1)', line: 'POST /api/agents/chat/Status/', express: 'agents.chat.start', gateway: 'admitted' },
  { form: 'HEAD on a stream (L2)', line: 'HEAD /api/agents/chat/stream/s1', express: 'agents.chat.stream', gateway: { status: 401 }, anonymous: true },
  { form: 'PUT on a chat path', line: 'PUT /api/agents/chat/openAI', express: 'fallback', gateway: 'forwarded' },
  { form: 'lower-case method', line: 'post /api/agents/chat/openAI', express: undefined, gateway: { status: 400 } },
  { form: 'method-override header', line: 'POST /api/agents/chat/stream/s1', express: 'fallback', gateway: 'forwarded', anonymous: true, headers: { 'X-HTTP-Method-Override': 'GET' } },
  { form: 'asterisk-form', line: 'OPTIONS *', express: 'fallback', gateway: REFUSED },
];

let db: TestDatabase;
let oracle: OracleProcess;
let gw: InProcessGateway;
let token: string;
let counter = 0;

beforeAll(async () => {
  [db, oracle] = await Promise.all([createTestDatabase(), startOracleProcess()]);
  gw = await startGateway(db.url, oracle.url);
  const ws = await seedWorkspace(db.sql, { models: ['gpt-4o'], tokensLimit: 100_000_000, requestsLimit: 100_000 });
  token = await librechatToken(ws.email);
});
afterAll(async () => {
  await gw?.close();
  await oracle?.stop();
  await db?.drop();
});

async function sendTo(base: string, form: Form, requestId: string) {
  const headers: Record<string, string> = { Host: 'gateway.test', 'X-Request-Id': requestId, 'Content-Type': 'application/json', ...form.headers };
  if (!form.anonymous) headers.Authorization = `Bearer ${token}`;
  const body = form.line.startsWith('POST') || form.line.startsWith('PUT') ? JSON.stringify({ text: 'Hi', model: 'gpt-4o', endpoint: 'openAI' }) : undefined;
  return rawRequest(Number(new URL(base).port), { line: form.line, headers, body });
}

async function handlerFor(requestId: string): Promise<string | undefined> {
  return (await oracle.records()).find((record) => record.headers['x-request-id'] === requestId)?.handler;
}

describe('each request-line form: LibreChat\'s Express 5, then the gateway in front of it', () => {
  it.each(FORMS.map((f) => [f.form, f] as const))('%s', async (_name, form) => {
    const direct = `direct-${++counter}`;
    const answer = await sendTo(oracle.url, form, direct);
    expect(answer.status, 'Express answered').toBeDefined();
    expect(await handlerFor(direct), 'the handler Express ran').toBe(form.express);

    const requestId = `forms-${counter}`;
    const result = await sendTo(gw.url, form, requestId);
    const [usage] = await db.sql`SELECT 1 FROM chat_usage WHERE request_id = ${requestId}`;
    const reached = await handlerFor(requestId);
    if (form.gateway === 'admitted') {
      expect(usage, 'admitted').toBeDefined();
      expect(reached).toBe(form.express);
    } else if (form.gateway === 'forwarded') {
      expect(usage, 'not admitted').toBeUndefined();
      expect(reached).toBe(form.express);
    } else {
      expect(result.status).toBe(form.gateway.status);
      if (form.gateway.code) expect(result.json?.error?.code).toBe(form.gateway.code);
      expect(usage).toBeUndefined();
      expect(reached, 'refused before LibreChat').toBeUndefined();
    }
  });
});
