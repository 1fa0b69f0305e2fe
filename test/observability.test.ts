// Operations: Prometheus counters move with traffic, each request writes one JSON log line with its
// identity and figures but never a token, cookie or body, and on Fly a stream GET reaching a replica that
// does not hold the generation is replayed to the one that does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, startGateway, startGatewayProcess, type InProcessGateway } from './helpers/gateway.ts';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { waitSettled } from './helpers/metering.ts';
import { seedWorkspace } from './helpers/seed.ts';

const METRICS_TOKEN = 'observability-metrics-token';
const withToken = { METRICS_TOKEN };

let h: Harness;
beforeAll(async () => { h = await startHarness(withToken); });
afterAll(async () => { await h?.close(); });

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/_gateway/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((pair) => line.includes(pair))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('metrics', () => {
  it('counts requests, decisions, latencies and settled tokens', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    const before = await scrape(h.gw.url);
    const admitted = await postChat(h.gw.url, { token, body: chatBody() });
    await waitSettled(h.db.sql, admitted.requestId);
    await postChat(h.gw.url, { token, body: chatBody({ model: 'o3' }) });
    await fetch(`${h.gw.url}/api/config`);
    const after = await scrape(h.gw.url);
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('geko_requests_total', { route: 'chat_start', status: '200' })).toBe(1);
    expect(delta('geko_requests_total', { route: 'chat_start', status: '403' })).toBe(1);
    expect(delta('geko_requests_total', { route: 'pass', status: '200' })).toBe(1);
    expect(delta('geko_admission_decisions_total', { decision: 'admitted' })).toBe(1);
    expect(delta('geko_admission_decisions_total', { decision: 'model_not_enabled' })).toBe(1);
    expect(delta('geko_admission_duration_seconds_count')).toBe(2);
    expect(delta('geko_settlement_duration_seconds_count', { outcome: 'completed' })).toBe(1);
    expect(delta('geko_tokens_settled_total', { workspace: ws.workspaceId, model: 'gpt-4o', kind: 'prompt' })).toBe(812);
    expect(delta('geko_tokens_settled_total', { workspace: ws.workspaceId, model: 'gpt-4o', kind: 'completion' })).toBe(9);
    for (const gauge of ['geko_open_generations', 'geko_client_streams', 'geko_db_statements_pending', 'geko_db_pool_max', 'geko_process_resident_memory_bytes']) {
      expect(after).toContain(`\n${gauge} `);
    }
  });

  it('counts upstream errors by code', async () => {
    const down = await startGateway(h.db.url, 'http://127.0.0.1:9', withToken);
    try {
      await fetch(`${down.url}/api/config`);
      expect(sample(await scrape(down.url), 'geko_upstream_errors_total', { code: 'ECONNREFUSED' })).toBe(1);
    } finally {
      await down.close();
    }
  });
});

describe('request logs', () => {
  it('write one JSON line per request with its figures and nothing secret', async () => {
    const gateway = await startGatewayProcess(baseEnv(h.db.url, h.upstream.url, { MIGRATE_ON_START: 'false' }));
    try {
      const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
      const token = await librechatToken(ws.email);
      const secretText = 'the-body-secret-8c1f';
      const result = await postChat(gateway.url, { token, body: chatBody({ text: secretText }), headers: { cookie: 'refreshToken=cookie-secret-77aa' } });
      expect(result.status).toBe(200);
      await waitSettled(h.db.sql, result.requestId);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const lines = gateway.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const requestLines = lines.filter((l) => l.msg === 'request' && l.request_id === result.requestId);
      expect(requestLines).toHaveLength(1);
      expect(requestLines[0]).toMatchObject({
        level: 'info', route: 'chat_start', status: 200, tenant_id: ws.tenantId, workspace_id: ws.workspaceId, model: 'gpt-4o', usage_id: expect.any(String),
      });
      expect(requestLines[0]!.duration_ms).toBeTypeOf('number');
      expect(lines.find((l) => l.msg === 'settled' && l.request_id === result.requestId)).toMatchObject({ total_tokens: 821, outcome: 'completed' });
      const everything = gateway.output();
      for (const secret of [token, secretText, 'cookie-secret-77aa']) expect(everything).not.toContain(secret);
    } finally {
      await gateway.stop();
    }
  });
});

describe('fly-replay routing of stream GETs', () => {
  let a: InProcessGateway;
  let b: InProcessGateway;
  beforeAll(async () => {
    a = await startGateway(h.db.url, h.upstream.url, { FLY_MACHINE_ID: 'machine-a' });
    b = await startGateway(h.db.url, h.upstream.url, { FLY_MACHINE_ID: 'machine-b' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('replays to the holder, falls back to resume=true when replayed already or nobody holds it', async () => {
    const ws = await seedWorkspace(h.db.sql);
    const token = await librechatToken(ws.email);
    const chat = await postChat(a.url, { token, body: chatBody({ __fake: { deltas: Array.from({ length: 60 }, () => 'x'), frameIntervalMs: 20 } }) });
    const streamId = String(chat.json.streamId);
    const headers = { authorization: `Bearer ${token}` };
    let replay: Response | undefined;
    for (let i = 0; i < 20 && replay?.headers.get('fly-replay') !== 'instance=machine-a'; i += 1) {
      replay = await fetch(`${b.url}/api/agents/chat/stream/${streamId}`, { headers });
      if (replay.headers.get('fly-replay') === null) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(replay!.status).toBe(204);
    expect(replay!.headers.get('fly-replay')).toBe('instance=machine-a');
    const replayed = await fetch(`${b.url}/api/agents/chat/stream/${streamId}`, { headers: { ...headers, 'fly-replay-src': 'instance=machine-b' } });
    expect(replayed.headers.get('fly-replay')).toBeNull();
    await replayed.body?.cancel();
    const log = await h.upstream.control.log();
    expect(log.some((e) => e.url === `/api/agents/chat/stream/${streamId}?resume=true`)).toBe(true);
    const local = await fetch(`${a.url}/api/agents/chat/stream/${streamId}`, { headers });
    expect(local.status).toBe(200);
    expect(local.headers.get('fly-replay')).toBeNull();
    await local.body?.cancel();
    const unknown = await fetch(`${b.url}/api/agents/chat/stream/nobody-holds-this`, { headers });
    expect(unknown.headers.get('fly-replay')).toBeNull();
    expect(unknown.status).toBe(404);
  });
});
