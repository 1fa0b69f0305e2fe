// Which models a workspace enables, decided inside the admission statement: every slot of the request needs
// one of its models in `enabled_models`, exactly or under an entry ending in `*` (a prefix). The statement
// tests each slot with jsonb `?|` against the entries that would admit it (entriesAdmitting); these hold
// that test to the rule itself, on random names (accents and astral characters included) and entry lists, and
// the name a refusal gives to the first slot the rule refuses.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEnabledBy } from '../src/admission/enabled-rule.ts';
import { admitChatStatement, entriesAdmitting } from '../src/admission/statement.ts';
import type { ModelSlot } from '../src/admission/chat-request.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { claimedIdentity, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

let db: TestDatabase;
let ws: SeededWorkspace;
let instanceId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  ws = await seedWorkspace(db.sql, { tokensLimit: 2_000_000_000, requestsLimit: 2_000_000_000 });
  instanceId = randomUUID();
  await db.sql`INSERT INTO gateway_instances (instance_id) VALUES (${instanceId})`;
});
afterAll(async () => { await db?.drop(); });

/** DESIGN.md's rule, written out plainly. */
function ruleAdmits(entries: unknown[], slots: ModelSlot[]): boolean {
  const admits = (entry: unknown, model: string) =>
    typeof entry === 'string' && (entry === model || (entry.endsWith('*') && model.startsWith(entry.slice(0, -1))));
  return slots.every((slot) => slot.some((model) => entries.some((entry) => admits(entry, model))));
}

/** The name a refusal gives: the last alternative of the first slot with none enabled (null when all have one). */
function ruleDenies(entries: unknown[], slots: ModelSlot[]): string | null {
  const failing = slots.find((slot) => !ruleAdmits(entries, [slot]));
  return failing ? failing[failing.length - 1]! : null;
}

/** `enabledModels` is the column's JSON text, or null for SQL NULL. */
async function admissionCode(enabledModels: string | null, slots: ModelSlot[]): Promise<string | null> {
  return (await admissionRow(enabledModels, slots)).code;
}

async function admissionRow(enabledModels: string | null, slots: ModelSlot[]) {
  await db.sql`UPDATE workspace_config SET enabled_models = ${enabledModels}::text::jsonb WHERE workspace_id = ${ws.workspaceId}`;
  const [row] = await admitChatStatement(db.sql, {
    who: claimedIdentity(ws), req: { requestId: randomUUID(), endpoint: 'openAI', model: slots.map((s) => s[0]).join('+'), ipAddress: null, userAgent: null },
    slots, promptTokens: 1, bodyOutputCap: null, usageId: randomUUID(), instanceId,
  });
  return row!;
}

describe('enabled_models matching', () => {
  it('lists the name and each of its code-point prefixes followed by *', () => {
    expect(entriesAdmitting(['gpt'])).toEqual(['gpt', '*', 'g*', 'gp*', 'gpt*']);
    expect(entriesAdmitting(['a😀', 'ab'])).toEqual(['a😀', '*', 'a*', 'a😀*', 'ab', 'ab*']);
  });

  it('admits exactly what the rule admits, for random names and entries', async () => {
    const char = fc.constantFrom('a', 'b', '-', '.', 'é', '😀', '*');
    const name = fc.array(char, { minLength: 1, maxLength: 5 }).map((chars) => chars.join(''));
    const entry = fc.oneof(name, name.map((n) => `${n}*`), fc.constant('*'), fc.integer({ min: 0, max: 9 }));
    const slot = fc.array(name, { minLength: 1, maxLength: 2 });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 5 }), fc.array(slot, { minLength: 1, maxLength: 2 }), async (entries, slots) => {
        const row = await admissionRow(JSON.stringify(entries), slots);
        expect(row.code).toBe(ruleAdmits(entries, slots) ? null : 'model_not_enabled');
        expect(row.denied_model ?? null).toBe(ruleDenies(entries, slots));
      }),
      { numRuns: 150 },
    );
  });

  it('names the first slot with nothing enabled by its last alternative (a saved agent\'s model after its id)', async () => {
    const agentSlots: ModelSlot[] = [['agent_a', 'gpt-4o'], ['agent_a', 'claude-x'], ['agent_a', 'o3']];
    expect((await admissionRow('["gpt-4o"]', agentSlots)).denied_model).toBe('claude-x');
    expect((await admissionRow('["gpt-4o", "claude-*", "o3"]', agentSlots)).code).toBeNull();
    expect((await admissionRow('["agent_a"]', agentSlots)).code).toBeNull();
    expect((await admissionRow('{"gpt-4o": true}', agentSlots)).denied_model).toBe('gpt-4o');
  });

  it('reads only a JSON array of names: an object, a string, a number or NULL enables nothing', async () => {
    expect(await admissionCode('["gpt-4o"]', [['gpt-4o']])).toBeNull();
    expect(await admissionCode('{"gpt-4o": true}', [['gpt-4o']])).toBe('model_not_enabled');
    expect(await admissionCode('"gpt-4o"', [['gpt-4o']])).toBe('model_not_enabled');
    expect(await admissionCode('"*"', [['gpt-4o']])).toBe('model_not_enabled');
    expect(await admissionCode('[5]', [['5']])).toBe('model_not_enabled');
    expect(await admissionCode('null', [['gpt-4o']])).toBe('model_not_enabled');
    expect(await admissionCode(null, [['gpt-4o']])).toBe('model_not_enabled');
  });

  it('isEnabledBy (the lists\' rule) decides as the statement does, for random names and entries', async () => {
    const char = fc.constantFrom('a', 'b', '-', '.', 'é', '😀', '*');
    const name = fc.array(char, { minLength: 1, maxLength: 5 }).map((chars) => chars.join(''));
    const entry = fc.oneof(name, name.map((n) => `${n}*`), fc.constant('*'), fc.integer({ min: 0, max: 9 }), fc.constant(null));
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 5 }), name, async (entries, model) => {
        const admitted = (await admissionCode(JSON.stringify(entries), [[model]])) === null;
        expect(isEnabledBy(entries, model)).toBe(admitted);
        expect(isEnabledBy(entries, model)).toBe(ruleAdmits(entries, [[model]]));
      }),
      { numRuns: 150 },
    );
    for (const notAList of [{ 'gpt-4o': true }, 'gpt-4o', '*', null, undefined, 5]) expect(isEnabledBy(notAList, 'gpt-4o')).toBe(false);
  });
});
