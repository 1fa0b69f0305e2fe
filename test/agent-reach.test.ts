// Issue 15, at admission: a saved agent whose id is not enabled is admitted only when every model it can run
// is enabled: its own and, transitively, those of the agents its edges, agent_ids and enabled subagents reach,
// looked up in LibreChat with the caller's token. Where the gateway cannot see them all (bounds, a view
// without links, no answer) only the agent id itself admits. Real database, the fake LibreChat as a child
// process, real sockets.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_AGENTS, MAX_DEPTH } from '../src/admission/agent-reach.ts';
import { chatBody, postChat, startHarness, upstreamSaw, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { seedWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const uid = () => randomUUID().slice(0, 8);

function agentChat(token: string, agentId: string) {
  return postChat(h.gw.url, { token, path: '/api/agents/chat/agents', body: chatBody({ endpoint: 'agents', agent_id: agentId, model: undefined }) });
}

async function expectModelRefused(result: Awaited<ReturnType<typeof postChat>>, model: string) {
  expect(result.status, result.text).toBe(403);
  expect(result.json.error?.code).toBe('model_not_enabled');
  expect(result.json.error?.details).toEqual({ model });
  expect(await upstreamSaw(h.upstream, result.requestId)).toBe(false);
  const rows = await h.db.sql<{ action: string }[]>`SELECT action FROM audit_logs WHERE details ->> 'request_id' = ${result.requestId}`;
  expect(rows.map((row) => row.action)).toEqual(['chat_denied']);
}

async function tokenFor(models: string[], claims: Record<string, unknown> = {}) {
  const ws = await seedWorkspace(h.db.sql, { models });
  return librechatToken(ws.email, claims);
}

describe('a saved agent is checked with every agent it can hand off to', () => {
  it('refuses an agent whose hand-off target runs a model the workspace does not enable, before forwarding', async () => {
    const [hub, writer] = [`agent_hub_${uid()}`, `agent_writer_${uid()}`];
    await h.upstream.control.setAgent(writer, { model: 'claude-sonnet-4-5', provider: 'anthropic' });
    await h.upstream.control.setAgent(hub, { model: 'gpt-4o', provider: 'openAI', edges: [{ from: hub, to: writer, edgeType: 'handoff' }] });
    await expectModelRefused(await agentChat(await tokenFor(['gpt-4o']), hub), 'claude-sonnet-4-5');
    expect((await agentChat(await tokenFor(['gpt-4o', 'claude-*']), hub)).status).toBe(200);
    expect((await agentChat(await tokenFor([hub]), hub)).status).toBe(200);
  });

  it('follows edges transitively, with from/to as strings or arrays, agent_ids and enabled subagents, through cycles', async () => {
    const [a, b, c, d, e, f] = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => `agent_${n}_${uid()}`) as [string, string, string, string, string, string];
    await h.upstream.control.setAgent(a, { model: 'gpt-4o', provider: 'openAI', edges: [{ from: [a], to: [b] }] });
    await h.upstream.control.setAgent(b, { model: 'gpt-4o-mini', provider: 'openAI', edges: [{ from: b, to: a }, { from: c, to: b }] });
    await h.upstream.control.setAgent(c, { model: 'gpt-4o', provider: 'openAI', agent_ids: [d] });
    await h.upstream.control.setAgent(d, { model: 'gpt-4o', provider: 'openAI', subagents: { enabled: true, agent_ids: [e] } });
    await h.upstream.control.setAgent(e, { model: 'o3-mini', provider: 'openAI', subagents: { enabled: false, agent_ids: [f] } });
    await h.upstream.control.setAgent(f, { model: 'gemini-2.5-pro', provider: 'google' });
    await expectModelRefused(await agentChat(await tokenFor(['gpt-4o', 'gpt-4o-mini']), a), 'o3-mini');
    // f is named only by a disabled subagents setting: it cannot run, so its model needs no enabling.
    expect((await agentChat(await tokenFor(['gpt-4o', 'gpt-4o-mini', 'o3-mini']), a)).status).toBe(200);
  });

  it('skips a linked agent the caller cannot see or that is gone, as LibreChat does', async () => {
    const [hub, hidden] = [`agent_hub_${uid()}`, `agent_hidden_${uid()}`];
    await h.upstream.control.setAgent(hidden, { model: 'o3-mini', provider: 'openAI', viewers: ['somebody-else'] });
    await h.upstream.control.setAgent(hub, { model: 'gpt-4o', provider: 'openAI', edges: [{ from: hub, to: [hidden, `agent_gone_${uid()}`] }] });
    expect((await agentChat(await tokenFor(['gpt-4o']), hub)).status).toBe(200);
  });

  it('admits an agent LibreChat shows without its links (a caller who may not edit it) on its own model; its hand-offs are held on the stream', async () => {
    const shared = `agent_shared_${uid()}`;
    await h.upstream.control.setAgent(shared, { model: 'gpt-4o', provider: 'openAI', editors: ['the-author'] });
    expect((await agentChat(await tokenFor(['gpt-4o']), shared)).status).toBe(200);
    await expectModelRefused(await agentChat(await tokenFor(['o3-mini']), shared), 'gpt-4o');
    expect((await agentChat(await tokenFor([shared]), shared)).status).toBe(200);
  });

  it(`bounds the walk: links more than ${MAX_DEPTH} hops away, or more than ${MAX_AGENTS} agents, admit only by the agent id`, async () => {
    const chain = Array.from({ length: MAX_DEPTH + 2 }, (_, i) => `agent_chain${i}_${uid()}`);
    for (const [i, id] of chain.entries()) {
      const next = chain[i + 1];
      await h.upstream.control.setAgent(id, { model: 'gpt-4o', provider: 'openAI', edges: next ? [{ from: id, to: next }] : [] });
    }
    const token = await tokenFor(['gpt-4o']);
    const deep = await agentChat(token, chain[0]!);
    await expectModelRefused(deep, chain[0]!);
    expect(deep.json.error?.message).toContain('hand-offs away');
    // One hop less is within the bound.
    expect((await agentChat(token, chain[1]!)).status).toBe(200);

    const fan = Array.from({ length: MAX_AGENTS }, (_, i) => `agent_fan${i}_${uid()}`);
    for (const id of fan) await h.upstream.control.setAgent(id, { model: 'gpt-4o', provider: 'openAI' });
    const [wide, narrow] = [`agent_wide_${uid()}`, `agent_narrow_${uid()}`];
    await h.upstream.control.setAgent(wide, { model: 'gpt-4o', provider: 'openAI', edges: [{ from: wide, to: fan }] });
    await h.upstream.control.setAgent(narrow, { model: 'gpt-4o', provider: 'openAI', edges: [{ from: narrow, to: fan.slice(1) }] });
    const tooMany = await agentChat(token, wide);
    await expectModelRefused(tooMany, wide);
    expect(tooMany.json.error?.message).toContain(`more than ${MAX_AGENTS} agents`);
    expect((await agentChat(token, narrow)).status).toBe(200);
    expect((await agentChat(await tokenFor([wide]), wide)).status).toBe(200);
  });

  it('holds the OpenAI-compatible route (model is an agent id) to the same rule', async () => {
    const [hub, writer] = [`agent_hub_${uid()}`, `agent_writer_${uid()}`];
    await h.upstream.control.setAgent(writer, { model: 'claude-sonnet-4-5', provider: 'anthropic' });
    await h.upstream.control.setAgent(hub, { model: 'gpt-4o', provider: 'openAI', edges: [{ from: hub, to: writer }] });
    const body = { model: hub, messages: [{ role: 'user', content: 'hi' }] };
    const refused = await postChat(h.gw.url, { token: await tokenFor(['gpt-4o']), path: '/api/agents/v1/chat/completions', body });
    await expectModelRefused(refused, 'claude-sonnet-4-5');
    const admitted = await postChat(h.gw.url, { token: await tokenFor(['gpt-4o', 'claude-*']), path: '/api/agents/v1/chat/completions', body });
    expect(admitted.status, admitted.text).toBe(200);
  });
});
