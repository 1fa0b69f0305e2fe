// `npm run demo`: the whole thing on one machine with no setup. Starts the embedded PostgreSQL under
// ./.data, applies the migrations, seeds a demo tenant/user/workspace (idempotently), starts the
// LibreChat-compatible fake upstream in this process and the gateway as a child process
// (`node --import tsx src/main.ts`), then prints a token and curl commands to try.
// Ctrl-C / SIGTERM: the gateway is sent SIGTERM and drains, then the fake closes, then the database
// (which stops the embedded server).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { openDatabase, type Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createFakeLibreChat, type FakeLibreChat } from '../test/helpers/fake-librechat/index.ts';
import { DEMO_EMAIL, DEMO_FILES_LIMIT_MB, DEMO_MAX_TOKENS, DEMO_MCPS, DEMO_MODELS, DEMO_RESEARCH_MODELS, demoJwtSecret, seedDemo, type DemoRows } from './demo-seed.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA_DIR = path.join(ROOT, '.data');
const PREFERRED_PORT = 8080;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 40_000;
// Settings of the environment the gateway reads; the demo sets its own and drops the caller's.
const GATEWAY_ENV = [
  'LIBRECHAT_URL', 'DATABASE_URL', 'JWT_SECRET', 'JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE', 'PORT', 'HOST',
  'TRUST_PROXY', 'MIGRATE_ON_START', 'DATA_DIR', 'LOG_LEVEL', 'SHUTDOWN_DEADLINE',
];

interface State {
  database?: Database;
  fake?: FakeLibreChat;
  gateway?: ChildProcess;
  stopping: boolean;
}

const state: State = { stopping: false };
const say = (line = '') => process.stdout.write(`${line}\n`);

function checkNotStopping(): void {
  if (state.stopping) throw new Error('stopped while starting');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** One gateway log line, compact: `gateway | warn upstream failed code=... cause=...`. */
function formatGatewayLine(line: string): string {
  try {
    const { time: _time, level, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    return `gateway | ${String(level)} ${String(msg)}${rest.length > 0 ? ` ${rest.join(' ')}` : ''}`;
  } catch {
    return `gateway | ${line}`;
  }
}

/** Spawns the gateway and resolves with its port once it logs "listening". */
function startGateway(env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  state.gateway = child;
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`gateway ! ${line}\n`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the gateway did not log "listening" within 60 s')), START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: { msg?: unknown; port?: unknown } = {};
      try { entry = JSON.parse(line) as typeof entry; } catch { /* not JSON: print it as it is */ }
      if (entry.msg === 'listening' && typeof entry.port === 'number') {
        clearTimeout(timer);
        resolve(entry.port);
      } else {
        say(formatGatewayLine(line));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited (${signal ?? `code ${code}`}) before it was listening`));
      if (!state.stopping) {
        process.stderr.write(`demo: the gateway stopped (${signal ?? `code ${code}`}); stopping the demo\n`);
        void stop(1);
      }
    });
  });
}

function stopGateway(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (!child.killed) child.kill('SIGTERM');
  });
}

let stopped: Promise<void> | undefined;
let starting: Promise<unknown> = Promise.resolve();

/** Stops everything in order (gateway, fake, database) and exits. Safe to call more than once. */
function stop(exitCode: number): Promise<void> {
  stopped ??= (async () => {
    state.stopping = true;
    if (state.gateway && state.gateway.exitCode === null) state.gateway.kill('SIGTERM');
    await starting.catch(() => undefined);
    say('demo: stopping: gateway…');
    if (state.gateway) await stopGateway(state.gateway);
    say('demo: stopping: fake LibreChat, database…');
    await state.fake?.close();
    await state.database?.close();
    say('demo: stopped');
    process.exit(exitCode);
  })();
  return stopped;
}

function signToken(secret: string): Promise<string> {
  // The claims of a LibreChat access token; the gateway finds the tenant and user by the email.
  return new SignJWT({ id: '64d3e0c0ffee000000000001', username: 'demo', provider: 'local', email: DEMO_EMAIL })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(secret));
}

/** Asks the running gateway for an MCP server the demo workspace does not enable, and says what it answered. */
async function showMcpRefusal(gatewayUrl: string, token: string, workspaceId: string): Promise<void> {
  const res = await fetch(`${gatewayUrl}/api/agents/chat/openAI`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-workspace-id': workspaceId },
    body: JSON.stringify({ text: 'Hello', model: 'gpt-4o', endpoint: 'openAI', conversationId: null, ephemeralAgent: { mcp: ['jira'] } }),
  });
  const answer = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  say(`demo: a chat asking for MCP server "jira" (not enabled) → HTTP ${res.status} ${answer.error?.code ?? ''}: ${answer.error?.message ?? ''}`);
}

function printBanner(gatewayUrl: string, fakeUrl: string, token: string, rows: DemoRows): void {
  const auth = '-H "Authorization: Bearer $TOKEN"';
  // The demo user belongs to two workspaces: a chat names one (header here; the chooser's cookie in a browser).
  const chat = (model: string, extra = '') => `curl -s -X POST $GW/api/agents/chat/openAI ${auth} -H "X-Workspace-Id: $WS" -H 'content-type: application/json' `
    + `-d '{"text":"Hello","model":"${model}","endpoint":"openAI","conversationId":null${extra}}'`;
  const withMcp = (server: string) => chat('gpt-4o', `,"ephemeralAgent":{"mcp":["${server}"]}`);
  const rule = '-'.repeat(78);
  say(rule);
  say(`GEKO gateway demo: ${gatewayUrl}`);
  say(`  upstream   LibreChat-compatible fake at ${fakeUrl}`);
  say(`  database   embedded PostgreSQL under ${path.relative(process.cwd(), DATA_DIR) || '.'}/postgres`);
  say(`  tenant     "Demo Co", user ${DEMO_EMAIL} (owner), workspaces "Demo workspace" and "Research"`);
  say(`  models     Demo workspace: ${DEMO_MODELS.join(', ')} (200000 tokens / 1000 requests a month)`);
  say(`             Research: ${DEMO_RESEARCH_MODELS.join(', ')} (50000 tokens / 200 requests a month); maxTokens ${DEMO_MAX_TOKENS}`);
  say(`  MCP        Demo workspace: ${DEMO_MCPS.join(', ')} enabled (any other server or built-in tool is refused); storage ${DEMO_FILES_LIMIT_MB} MB`);
  say(rule);
  say('Try it from another terminal (the token is valid for 12 hours):');
  say();
  say(`export GW=${gatewayUrl}`);
  say(`export TOKEN=${token}`);
  say(`export WS=${rows.workspaceId}   # the Demo workspace; Research is ${rows.researchWorkspaceId}`);
  say();
  say('# 1. start a chat; answers {"streamId":...,"conversationId":...,"status":"started"}');
  say(chat('gpt-4o'));
  say('# 2. read its stream (the streamId from step 1) to the final frame');
  say(`curl -N $GW/api/agents/chat/stream/<streamId> ${auth}`);
  say('#    or both at once:');
  say(`STREAM=$(${chat('gpt-4o')} | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).streamId') && curl -N $GW/api/agents/chat/stream/$STREAM ${auth}`);
  say('# 3. the workspace quota (tokens_used is settled from the stream once it ends)');
  say(`curl -s $GW/_gateway/quota ${auth} -H "X-Workspace-Id: $WS"`);
  say('# 4. denied: gpt-4.1 is not enabled in this workspace (403 model_not_enabled, with LibreChat\'s illegal_model_request)');
  say(`${chat('gpt-4.1')} -w '\\nHTTP %{http_code}\\n'`);
  say('# 5. LibreChat\'s model list as the web client gets it, filtered to the workspace (compare $WS with Research)');
  say(`curl -s $GW/api/models ${auth} -H "X-Workspace-Id: $WS"`);
  say('# 6. without a workspace the chat is refused with a pointer to the chooser (400 workspace_required)');
  say(`curl -s -X POST $GW/api/agents/chat/openAI ${auth} -H 'content-type: application/json' -d '{"text":"Hi","model":"gpt-4o","endpoint":"openAI"}'`);
  say(`# 7. MCP servers: ${DEMO_MCPS[0]} is enabled (admitted); jira is not (403 mcp_not_enabled, details.name "jira")`);
  say(withMcp(DEMO_MCPS[0]!));
  say(`${withMcp('jira')} -w '\\nHTTP %{http_code}\\n'`);
  say('# 8. upload a file: held against the storage limit, then counted in files_used (whole MB); delete it by its file_id');
  say(`curl -s $GW/api/files ${auth} -H "X-Workspace-Id: $WS" -F endpoint=agents -F file_id=$(node -p 'crypto.randomUUID()') -F file=@README.md`);
  say(`curl -s -X DELETE $GW/api/files ${auth} -H "X-Workspace-Id: $WS" -H 'content-type: application/json' -d '{"files":[{"file_id":"<file_id>","filepath":"x"}]}'`);
  say();
  say('Choose a workspace in a browser, as a LibreChat user would:');
  say(`  1. sign in to the fake LibreChat: ${gatewayUrl}/login (email ${DEMO_EMAIL}, any password)`);
  say(`  2. open the chooser: ${gatewayUrl}/_gateway/workspace`);
  say(rule);
  say('Ctrl-C stops the gateway, the fake upstream and the database.');
}

async function start(): Promise<void> {
  say('demo: starting the embedded PostgreSQL under .data (the first run takes a few seconds)…');
  state.database = await openDatabase({ databaseUrl: undefined, dataDir: DATA_DIR, poolMax: 2, prepare: true, connectTimeoutMs: 10_000 });
  checkNotStopping();
  const { applied } = await migrate(state.database.sql);
  if (applied.length > 0) say(`demo: migrations applied: ${applied.join(', ')}`);
  const rows = await seedDemo(state.database.sql);
  const jwtSecret = await demoJwtSecret(DATA_DIR);
  checkNotStopping();
  state.fake = await createFakeLibreChat({
    jwtSecret,
    // Slow enough to watch, and kept long enough for a stream command typed by hand.
    defaults: { frameIntervalMs: 150, keepCompletedMs: 15 * 60_000 },
  });
  checkNotStopping();
  const port = (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : 0;
  if (port === 0) say(`demo: port ${PREFERRED_PORT} is taken; the gateway takes a free port`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of GATEWAY_ENV) delete env[name];
  Object.assign(env, {
    DATABASE_URL: state.database.embedded!.url, LIBRECHAT_URL: state.fake.url, JWT_SECRET: jwtSecret,
    PORT: String(port), HOST: '127.0.0.1', MIGRATE_ON_START: 'false', LOG_LEVEL: 'info', SHUTDOWN_DEADLINE: '5s',
  });
  const gatewayPort = await startGateway(env);
  const token = await signToken(jwtSecret);
  await showMcpRefusal(`http://127.0.0.1:${gatewayPort}`, token, rows.workspaceId);
  printBanner(`http://127.0.0.1:${gatewayPort}`, state.fake.url, token, rows);
}

// `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and a
// repeated signal must not kill it halfway through stopping.
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
starting = start();
starting.catch((error: unknown) => {
  if (state.stopping) return;
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  void stop(1);
});
