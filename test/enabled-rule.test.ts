// isEnabledBy (src/admission/enabled-rule.ts) is the admission statement's rule, for code that decides
// outside SQL (stream policy, list filtering): anything but a JSON array enables nothing, and no name longer
// than admission lets through. That it enables exactly what the statement admits, on random names and entry
// lists, is held in test/enabled-models.test.ts. The statement also hands back what the workspace enabled
// when it admitted.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEnabledBy } from '../src/admission/enabled-rule.ts';
import { admitChatStatement, type DecisionRow } from '../src/admission/statement.ts';
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

/** Admits a one-model chat with `enabled_models` set to this JSON text; the statement's row. */
async function admit(enabledModels: string, model: string, enabledMcps = '[]'): Promise<DecisionRow> {
  await db.sql`UPDATE workspace_config SET enabled_models = ${enabledModels}::text::jsonb, enabled_mcps = ${enabledMcps}::text::jsonb
               WHERE workspace_id = ${ws.workspaceId}`;
  const [row] = await admitChatStatement(db.sql, {
    who: claimedIdentity(ws),
    req: { requestId: randomUUID(), endpoint: 'openAI', model, ipAddress: null, userAgent: null },
    slots: [[model]], promptTokens: 1, bodyOutputCap: null, usageId: randomUUID(), instanceId,
  });
  return row!;
}

describe('isEnabledBy', () => {
  it('enables nothing with anything but a JSON array', async () => {
    for (const value of ['{"gpt-4o": true}', '"gpt-4o"', '"*"', 'null', '42']) {
      const row = await admit(value, 'gpt-4o');
      expect(row.code).toBe('model_not_enabled');
      expect(isEnabledBy(JSON.parse(value), 'gpt-4o')).toBe(false);
    }
  });

  it('never enables a name longer than admission lets through', () => {
    expect(isEnabledBy(['*'], 'x'.repeat(255))).toBe(true);
    expect(isEnabledBy(['*'], 'x'.repeat(256))).toBe(false);
  });
});

describe('the admission statement', () => {
  it('returns what the workspace enabled when it admitted', async () => {
    const row = await admit('["gpt-4o", "agent_*"]', 'gpt-4o', '["github", "web_search"]');
    expect(row.code).toBeNull();
    expect(row.enabled_models).toEqual(['gpt-4o', 'agent_*']);
    expect(row.enabled_mcps).toEqual(['github', 'web_search']);
  });
});
