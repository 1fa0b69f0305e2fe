// How a chat body is read (issue 17, H1 H2 M5 L1 L4): the gateway checks what LibreChat will run, read the way
// LibreChat reads it. Content-Type and charset as LibreChat's body parsers take them; body.endpoint (not the URL)
// deciding saved agent or ephemeral; an enforced model spec's preset; numbers bounded before SQL; agent lookups
// cached per caller. Real database, the fake LibreChat as a child process, real sockets.
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, postChat, startHarness, upstreamSaw, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { send } from './helpers/raw-http.ts';
import { quotaRow, seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

type Result = Awaited<ReturnType<typeof postChat>>;

const uid = () => randomUUID().slice(0, 8);

async function auditActions(requestId: string): Promise<string[]> {
  const rows = await h.db.sql<{ action: string }[]>`SELECT action FROM audit_logs WHERE details ->> 'request_id' = ${requestId}`;
  return rows.map((row) => row.action);
}

/** Refused with this status and code, never forwarded; `audited`: a chat_denied row (refusals from SQL) or none. */
async function expectRefused(result: Result, status: number, code: string, audited: boolean) {
  expect(result.status, result.text).toBe(status);
  expect(result.json.error?.code).toBe(code);
  expect(result.json.error?.request_id).toBe(result.requestId);
  expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  expect(await auditActions(result.requestId)).toEqual(audited ? ['chat_denied'] : []);
}

describe('H1: only application/json in UTF-8 is read, as LibreChat\'s parsers would read it the same way', () => {
  it('refuses form-encoded, text/plain, +json, UTF-7 and Latin-1 bodies, a repeated charset and a content coding', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    // LibreChat's urlencoded parser would read model=gpt-4.1 out of this JSON's string field.
    const smuggled = JSON.stringify(chatBody({ text: 'x&model=gpt-4.1&endpoint=openAI&y=' }));
    // body-parser decodes UTF-7: +ACI- is a quote, so LibreChat would see a second "model".
    const utf7 = '{"text":"hi","endpoint":"openAI","model":"gpt-4o","x":"+ACI-,+ACI-model+ACI-:+ACI-gpt-4.1"}';
    const forms: { contentType: string; raw?: string }[] = [
      { contentType: 'application/x-www-form-urlencoded', raw: smuggled },
      { contentType: 'text/plain' },
      { contentType: 'application/vnd.api+json' },
      { contentType: 'application/jsonx' },
      { contentType: 'application/json; charset=utf-7', raw: utf7 },
      { contentType: 'application/json; charset=UTF-16LE' },
      { contentType: 'application/json; charset=iso-8859-1' },
      { contentType: 'application/json; charset=latin1' },
      { contentType: 'application/json; charset=utf8' },
      { contentType: 'application/json; charset=utf-8; charset=utf-7' },
      { contentType: 'application/json;' },
      { contentType: 'application/json; charset="utf-8' },
      { contentType: '' },
    ];
    for (const form of forms) {
      const result = await postChat(h.gw.url, { token, headers: { 'content-type': form.contentType }, ...(form.raw ? { rawBody: form.raw } : {}) });
      await expectRefused(result, 400, 'invalid_request', false);
    }
    const gzipped = await postChat(h.gw.url, { token, headers: { 'content-encoding': 'gzip' }, rawBody: gzipSync(JSON.stringify(chatBody())).toString('latin1') });
    await expectRefused(gzipped, 400, 'invalid_request', false);
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 0, requests_used: 0 });
  });

  it('those bodies are the ones LibreChat\'s parsers read another model out of (the fake parses as body-parser 2 does)', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    const forms = [
      { contentType: 'application/x-www-form-urlencoded', raw: JSON.stringify(chatBody({ text: 'x&model=gpt-4.1&endpoint=openAI&y=' })) },
      { contentType: 'application/json; charset=utf-7', raw: '{"text":"hi","endpoint":"openAI","model":"gpt-4o","x":"+ACI-,+ACI-model+ACI-:+ACI-gpt-4.1"}' },
    ];
    for (const form of forms) {
      // Straight to LibreChat (the fake), as the gateway must never let it happen.
      const requestId = `t-${randomUUID()}`;
      const direct = await fetch(`${h.upstream.url}/api/agents/chat/openAI`, {
        method: 'POST', body: form.raw, headers: { authorization: `Bearer ${token}`, 'content-type': form.contentType, 'x-request-id': requestId },
      });
      expect(direct.status).toBe(200);
      const seen = await h.upstream.control.waitFor((entry) => entry.headers['x-request-id'] === requestId);
      expect((seen.body as Record<string, unknown>).model).toBe('gpt-4.1');
      // Through the gateway the same bytes are refused, never read as gpt-4o and forwarded.
      await expectRefused(await postChat(h.gw.url, { token, headers: { 'content-type': form.contentType }, rawBody: form.raw }), 400, 'invalid_request', false);
    }
  });

  it('refuses a chat body with no Content-Type at all', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const payload = JSON.stringify(chatBody());
    const requestId = `t-${randomUUID()}`;
    const reply = await send(h.gw.url, '/api/agents/chat/openAI', {
      method: 'POST', body: payload,
      headers: { authorization: `Bearer ${await librechatToken(ws.email)}`, 'content-length': Buffer.byteLength(payload), 'x-request-id': requestId },
    });
    expect(reply.status, reply.text).toBe(400);
    expect(JSON.parse(reply.text).error.code).toBe('invalid_request');
    expect(await upstreamSaw(h.upstream, requestId)).toBe(false);
  });

  it('accepts application/json in any case, with a UTF-8 charset quoted or not, and the OpenAI and assistants routes hold the same rule', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o', 'agent_*'] });
    const token = await librechatToken(ws.email);
    for (const contentType of ['application/json', 'Application/JSON; Charset="UTF-8"', 'application/json ; charset=utf-8']) {
      const result = await postChat(h.gw.url, { token, headers: { 'content-type': contentType } });
      expect(result.status, `${contentType}: ${result.text}`).toBe(200);
    }
    for (const path of ['/api/agents/v1/chat/completions', '/api/assistants/v2/chat']) {
      const body = path.includes('v1') ? { model: 'agent_x', messages: [{ role: 'user', content: 'hi' }] } : { model: 'gpt-4o', text: 'hi', endpoint: 'assistants' };
      const refused = await postChat(h.gw.url, { token, path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      await expectRefused(refused, 400, 'invalid_request', false);
    }
  });
});

describe('H2: body.endpoint decides saved agent or ephemeral, as LibreChat decides it', () => {
  it('checks the saved agent a body names on the agents endpoint, whatever the URL segment', async () => {
    const agentId = `agent_runs41_${uid()}`;
    await h.upstream.control.setAgent(agentId, { model: 'gpt-4.1', provider: 'openAI' });
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    const result = await postChat(h.gw.url, { token, path: '/api/agents/chat/openAI', body: chatBody({ endpoint: 'agents', agent_id: agentId, model: 'gpt-4o' }) });
    await expectRefused(result, 403, 'model_not_enabled', true);
    expect(result.json.error?.details).toMatchObject({ model: 'gpt-4.1' });
    const [denied] = await h.db.sql`SELECT details FROM audit_logs WHERE details ->> 'request_id' = ${result.requestId}`;
    expect(denied!.details).toMatchObject({ endpoint: 'agents', model: agentId });
  });

  it('checks the model of an ephemeral chat posted to /chat/agents, not the agent it also names', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['agent_enabled'] });
    const token = await librechatToken(ws.email);
    const result = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: chatBody({ endpoint: 'openAI', model: 'o3-mini', agent_id: 'agent_enabled' }) });
    await expectRefused(result, 403, 'model_not_enabled', true);
    expect(result.json.error?.details).toMatchObject({ model: 'o3-mini' });
    // isAgentsEndpoint is an exact match: "Agents" is an ephemeral endpoint running body.model.
    const cased = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: chatBody({ endpoint: 'Agents', model: 'o3-mini', agent_id: 'agent_enabled' }) });
    await expectRefused(cased, 403, 'model_not_enabled', true);
    const saved = await postChat(h.gw.url, { token, path: '/api/agents/chat/openAI', body: chatBody({ endpoint: 'agents', model: 'o3-mini', agent_id: 'agent_enabled' }) });
    expect(saved.status, saved.text).toBe(200);
  });

  it('checks the saved agent addedConvo names, whatever its own endpoint and model', async () => {
    const agentId = `agent_added_${uid()}`;
    await h.upstream.control.setAgent(agentId, { model: 'gpt-4.1', provider: 'openAI' });
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    const result = await postChat(h.gw.url, { token, body: chatBody({ addedConvo: { endpoint: 'openAI', model: 'gpt-4o', agent_id: agentId } }) });
    await expectRefused(result, 403, 'model_not_enabled', true);
    expect(result.json.error?.details).toMatchObject({ model: 'gpt-4.1' });
    // An ephemeral-looking id is not a saved agent: addedConvo.model runs.
    const ephemeral = await postChat(h.gw.url, { token, body: chatBody({ addedConvo: { endpoint: 'openAI', model: 'gpt-4o', agent_id: 'ephemeral' } }) });
    expect(ephemeral.status, ephemeral.text).toBe(200);
  });

  it('a body with no endpoint (which LibreChat cannot run) is checked as its URL names it', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    const { endpoint: _endpoint, ...noEndpoint } = chatBody();
    const ok = await postChat(h.gw.url, { token, body: noEndpoint });
    expect(ok.status, ok.text).toBe(200);
    await expectRefused(await postChat(h.gw.url, { token, body: { ...noEndpoint, model: 'o3-mini' } }), 403, 'model_not_enabled', true);
  });
});

describe('M5: with an enforced model spec, the preset is what runs and what is checked', () => {
  it('checks the enforced preset\'s model, refuses unknown and mismatched specs, and reads body.model when not enforced', async () => {
    const presetAgent = `agent_spec_${uid()}`;
    await h.upstream.control.setAgent(presetAgent, { model: 'claude-sonnet-4-5', provider: 'anthropic' });
    const list = [
      { name: 'fast', label: 'Fast', preset: { endpoint: 'openAI', model: 'gpt-4.1' } },
      { name: 'helper', label: 'Helper', preset: { endpoint: 'agents', agent_id: presetAgent } },
    ];
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    try {
      await h.upstream.control.setModelSpecs({ enforce: true, list });
      const swapped = await postChat(h.gw.url, { token, body: chatBody({ model: 'gpt-4o', spec: 'fast' }) });
      await expectRefused(swapped, 403, 'model_not_enabled', true);
      expect(swapped.json.error?.details).toMatchObject({ model: 'gpt-4.1' });
      const agentSpec = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: chatBody({ endpoint: 'agents', model: 'gpt-4o', spec: 'helper' }) });
      await expectRefused(agentSpec, 403, 'model_not_enabled', true);
      expect(agentSpec.json.error?.details).toMatchObject({ model: 'claude-sonnet-4-5' });
      await expectRefused(await postChat(h.gw.url, { token, body: chatBody({ spec: 'nope' }) }), 400, 'invalid_request', false);
      await expectRefused(await postChat(h.gw.url, { token, body: chatBody({ endpoint: 'anthropic', spec: 'fast' }) }), 400, 'invalid_request', false);
      await expectRefused(await postChat(h.gw.url, { token, body: chatBody({ addedConvo: { endpoint: 'openAI', model: 'gpt-4o', spec: 'fast' } }) }), 403, 'model_not_enabled', true);
      // A saved agent runs itself under enforce (current LibreChat); naming a spec whose preset is another agent
      // (what older releases ran) has that one checked too.
      const ownAgent = `agent_own_${uid()}`;
      await h.upstream.control.setAgent(ownAgent, { model: 'gpt-4o', provider: 'openAI' });
      const savedBody = chatBody({ endpoint: 'agents', agent_id: ownAgent, model: undefined });
      const saved = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: savedBody });
      expect(saved.status, saved.text).toBe(200);
      const both = await postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: { ...savedBody, spec: 'helper' } });
      await expectRefused(both, 403, 'model_not_enabled', true);
      expect(both.json.error?.details).toMatchObject({ model: 'claude-sonnet-4-5' });

      const enabled = await seedWorkspace(h.db.sql, { models: ['gpt-4.1'] });
      const admitted = await postChat(h.gw.url, { token: await librechatToken(enabled.email), body: chatBody({ model: 'gpt-4o', spec: 'fast' }) });
      expect(admitted.status, admitted.text).toBe(200);
      const [usage] = await h.db.sql`SELECT model FROM chat_usage WHERE request_id = ${admitted.requestId}`;
      expect(usage!.model).toBe('gpt-4.1');
    } finally {
      await h.upstream.control.setModelSpecs(null);
    }
    // Not enforced: LibreChat keeps the body's settings, so body.model is what runs. (A new caller: the
    // specs a caller's config shows are cached per caller, briefly.)
    await h.upstream.control.setModelSpecs({ enforce: false, list });
    try {
      const free = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
      const kept = await postChat(h.gw.url, { token: await librechatToken(free.email, { id: `user-${uid()}` }), body: chatBody({ model: 'gpt-4o', spec: 'fast' }) });
      expect(kept.status, kept.text).toBe(200);
    } finally {
      await h.upstream.control.setModelSpecs(null);
    }
  });
});

describe('L1: numbers are bounded before they reach SQL', () => {
  it('answers 400 for caps that are not whole numbers within an integer, never 503', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const token = await librechatToken(ws.email);
    const raws = ['1e19', '1e300', '1e400', '-5', '2.5', '2147483648'].map((n) => `{"text":"hi","endpoint":"openAI","model":"gpt-4o","max_tokens":${n}}`);
    raws.push('{"text":"hi","endpoint":"openAI","model":"gpt-4o","maxOutputTokens":1e19}');
    for (const rawBody of raws) {
      const result = await postChat(h.gw.url, { token, rawBody });
      await expectRefused(result, 400, 'invalid_request', false);
    }
    const openAi = await postChat(h.gw.url, { token, path: '/api/agents/v1/chat/completions', rawBody: '{"model":"agent_x","messages":[],"max_completion_tokens":1e300}' });
    await expectRefused(openAi, 400, 'invalid_request', false);
    expect(await quotaRow(h.db.sql, ws.workspaceId)).toMatchObject({ tokens_used: 0, requests_used: 0 });
  });

  it('keeps the hold arithmetic inside integer: a large cap near a full counter is 429, not 503', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'], tokensLimit: 2_147_483_647 });
    await h.db.sql`UPDATE workspace_quotas SET tokens_used = 1000000000 WHERE workspace_id = ${ws.workspaceId}`;
    const token = await librechatToken(ws.email);
    const big = await postChat(h.gw.url, { token, body: chatBody({ text: '', max_tokens: 2_000_000_000 }) });
    await expectRefused(big, 429, 'quota_exceeded', true);
    expect(big.json.error?.details).toMatchObject({ kind: 'tokens' });
    const fits = await postChat(h.gw.url, { token, body: chatBody({ text: '', max_tokens: 1_147_483_647 }) });
    expect(fits.status, fits.text).toBe(200);
  });

  it('bounds an operator\'s maxTokens: 1e300 holds at most 2^31-1, a negative one holds nothing', async () => {
    const huge = await seedWorkspace(h.db.sql, { models: ['gpt-4o'], tokensLimit: 1_000_000 });
    await h.db.sql`UPDATE workspace_config SET custom_settings = '{"maxTokens": 1e300}' WHERE workspace_id = ${huge.workspaceId}`;
    const refused = await postChat(h.gw.url, { token: await librechatToken(huge.email), body: chatBody() });
    await expectRefused(refused, 429, 'quota_exceeded', true);
    const negative = await seedWorkspace(h.db.sql, { models: ['gpt-4o'], customSettings: { maxTokens: -500 } });
    const admitted = await postChat(h.gw.url, { token: await librechatToken(negative.email), body: chatBody({ text: 'x'.repeat(40) }) });
    expect(admitted.status, admitted.text).toBe(200);
    const [usage] = await h.db.sql`SELECT hold_tokens FROM chat_usage WHERE request_id = ${admitted.requestId}`;
    expect(usage!.hold_tokens).toBe(10);
  });

  it('does not recurse without bound into OpenAI message content', async () => {
    const ws = await seedWorkspace(h.db.sql, { models: ['agent_*'] });
    const deep = `${'['.repeat(200_000)}"hi"${']'.repeat(200_000)}`;
    const result = await postChat(h.gw.url, { token: await librechatToken(ws.email), path: '/api/agents/v1/chat/completions', rawBody: `{"model":"agent_x","messages":${deep}}` });
    expect(result.status, result.text.slice(0, 200)).toBe(200);
  });
});

describe('L4: agent lookups are cached per caller', () => {
  it('one caller without access does not make the agent fail for another, nor ride on another\'s answer', async () => {
    const agentId = `agent_private_${uid()}`;
    const owner = `owner-${uid()}`;
    await h.upstream.control.setAgent(agentId, { model: 'gpt-4o', provider: 'openAI', viewers: [owner] });
    const ws = await seedWorkspace(h.db.sql, { models: ['gpt-4o'] });
    const ownerToken = await librechatToken(ws.email, { id: owner });
    const outsiderToken = await librechatToken(ws.email, { id: `outsider-${uid()}` });
    const body = chatBody({ endpoint: 'agents', agent_id: agentId });
    const outsiderFirst = await postChat(h.gw.url, { token: outsiderToken, path: '/api/agents/chat/agents', body });
    await expectRefused(outsiderFirst, 403, 'model_not_enabled', true);
    // The refusal names the agent, never the model LibreChat would not show this caller.
    expect(outsiderFirst.json.error?.details).toEqual({ model: agentId });
    const ownerNext = await postChat(h.gw.url, { token: ownerToken, path: '/api/agents/chat/agents', body });
    expect(ownerNext.status, ownerNext.text).toBe(200);
    const outsiderAgain = await postChat(h.gw.url, { token: outsiderToken, path: '/api/agents/chat/agents', body });
    await expectRefused(outsiderAgain, 403, 'model_not_enabled', true);
    expect(outsiderAgain.json.error?.details).toEqual({ model: agentId });
  });
});
