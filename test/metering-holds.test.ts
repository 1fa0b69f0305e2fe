// Holds a live gateway process still holds are never expired (finding H4): the sweeper leaves this
// process's held generations alone past RESERVATION_TTL, leaves other live processes' holds to them, and
// still closes holds nobody holds (lost by this process, or left by a dead one). A generation that ends
// after its hold was expired anyway (its process only looked dead) records what it used: the settlement
// corrects the row and the quota by the difference, once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitChatStatement } from '../src/admission/statement.ts';
import { settleUsage } from '../src/metering/settle.ts';
import { expireStaleHolds, registerInstance } from '../src/metering/sweeper.ts';
import { chatBody, postChat, startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { completedAudit } from './helpers/metering.ts';
import { claimedIdentity, quotaRow, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

/** Admits one chat straight through the admission statement, as process `instanceId` would. */
async function admitAs(ws: SeededWorkspace, instanceId: string, ageSeconds: number): Promise<string> {
  const usageId = randomUUID();
  const [row] = await admitChatStatement(h.db.sql, {
    who: claimedIdentity(ws),
    req: { requestId: `r-${usageId}`, endpoint: 'openAI', model: 'gpt-4o', ipAddress: '127.0.0.1', userAgent: 'holds' },
    slots: [['gpt-4o']], promptTokens: 10, bodyOutputCap: 90, usageId, instanceId,
  });
  expect(row?.code).toBeNull();
  await h.db.sql`UPDATE chat_usage SET created_at = created_at - make_interval(secs => ${ageSeconds}) WHERE usage_id = ${usageId}`;
  return usageId;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function statusOf(usageId: string): Promise<string> {
  const [row] = await h.db.sql<{ status: string }[]>`SELECT status FROM chat_usage WHERE usage_id = ${usageId}`;
  return row!.status;
}

describe('what the sweeper expires', () => {
  it('this process: a held generation never, a hold it no longer holds past RESERVATION_TTL; another live process: never; a dead one: at once', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 1_000_000 });
    const me = randomUUID();
    const alive = randomUUID();
    const dead = randomUUID();
    await registerInstance(h.db.sql, me);
    await registerInstance(h.db.sql, alive);
    await registerInstance(h.db.sql, dead);
    await h.db.sql`UPDATE gateway_instances SET heartbeat_at = heartbeat_at - interval '1 hour' WHERE instance_id = ${dead}`;
    const mineHeld = await admitAs(ws, me, 3600);
    const mineLost = await admitAs(ws, me, 3600);
    const mineYoung = await admitAs(ws, me, 0);
    const aliveOld = await admitAs(ws, alive, 3600);
    const deadYoung = await admitAs(ws, dead, 0);
    await expireStaleHolds(h.db.sql, { instanceId: me, reservationTtlMs: 60_000, instanceStaleMs: 60_000, heldUsageIds: [mineHeld] });
    expect({
      mineHeld: await statusOf(mineHeld), mineLost: await statusOf(mineLost), mineYoung: await statusOf(mineYoung),
      aliveOld: await statusOf(aliveOld), deadYoung: await statusOf(deadYoung),
    }).toEqual({ mineHeld: 'reserved', mineLost: 'expired', mineYoung: 'reserved', aliveOld: 'reserved', deadYoung: 'expired' });
    // Two holds of 100 closed at their text part (10), three still held at 100.
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(3 * 100 + 2 * 10);
  });
});

describe('a generation that ends after its hold was expired', () => {
  it('corrects the row and the quota by the difference, once, with its chat_completed row', async () => {
    const ws = await seedWorkspace(h.db.sql, { tokensLimit: 1_000_000, customSettings: { maxTokens: 1000 } });
    const token = await librechatToken(ws.email);
    // 5,500 tokens used, then a call that never returns until the chat is aborted.
    const calls = [{ model: 'gpt-4o', provider: 'openAI', input: 5000, output: 500, deltas: ['a'] }, { model: 'gpt-4o', provider: 'openAI', input: 1, output: 1, deltas: ['b'] }];
    const chat = await postChat(h.gw.url, { token, body: chatBody({ text: 'abcdefghijkl', __fake: { calls, ending: 'hang' } }) });
    expect(chat.status, chat.text).toBe(200);
    const streamId = String(chat.json.streamId);
    // created, step, delta, usage (5,500), step, delta: the first call's usage is out.
    await h.upstream.control.waitForJob((j) => j.streamId === streamId && j.framesEmitted >= 6, 5_000);
    // Another process's sweeper sees this gateway's heartbeat stop (its sweeper is stalled, say) and expires the hold.
    await h.db.sql`UPDATE gateway_instances SET heartbeat_at = heartbeat_at - interval '1 hour' WHERE instance_id = ${h.gw.instanceId}`;
    const other = randomUUID();
    await registerInstance(h.db.sql, other);
    const [before] = await h.db.sql<{ status: string; usage_id: string }[]>`SELECT status, usage_id FROM chat_usage WHERE request_id = ${chat.requestId}`;
    await expireStaleHolds(h.db.sql, { instanceId: other, reservationTtlMs: 60_000, instanceStaleMs: 60_000 });
    expect(await statusOf(before!.usage_id)).toBe('expired');
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(3);
    const abort = await fetch(`${h.gw.url}/api/agents/chat/abort`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ streamId }),
    });
    expect(abort.status).toBe(200);
    await waitUntil(async () => (await statusOf(before!.usage_id)) !== 'expired', 8_000);
    const [row] = await h.db.sql<{ status: string; total_tokens: number; usage_source: string }[]>`
      SELECT status, total_tokens, usage_source FROM chat_usage WHERE request_id = ${chat.requestId}`;
    expect(row).toEqual({ status: 'aborted', total_tokens: 5500, usage_source: 'on_token_usage' });
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(5500);
    const audits = (await completedAudit(h.db.sql, chat.requestId)).map((a) => a.details.outcome).sort();
    expect(audits).toEqual(['aborted', 'expired']);
    // A second pass of either side changes nothing.
    await expireStaleHolds(h.db.sql, { instanceId: other, reservationTtlMs: 0, instanceStaleMs: 0 });
    const again = await settleUsage(h.db.sql, {
      usageId: before!.usage_id, outcome: 'completed',
      usage: { promptTokens: 9, completionTokens: 9, totalTokens: 18, source: 'on_token_usage', perModel: {} },
    });
    expect(again).toBe(false);
    expect((await quotaRow(h.db.sql, ws.workspaceId)).tokens_used).toBe(5500);
    expect(await completedAudit(h.db.sql, chat.requestId)).toHaveLength(2);
  });
});
