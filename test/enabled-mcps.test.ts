// Which MCP servers and built-in tools a workspace enables, decided inside the admission statement by the
// models' own rule: every name the chat asks for needs an `enabled_mcps` entry equal to it, or ending in `*`
// and a prefix of it (`*` alone: all). These hold the statement to that rule on random names and entry
// lists, together with the model check, and check its place in DESIGN.md's order.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitChatStatement } from '../src/admission/statement.ts';
import { readChatTools } from '../src/admission/chat-tools.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { claimedIdentity, seedWorkspace, type SeededWorkspace } from './helpers/seed.ts';

let db: TestDatabase;
let ws: SeededWorkspace;
let instanceId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  ws = await seedWorkspace(db.sql, { models: ['gpt-4o'], tokensLimit: 2_000_000_000, requestsLimit: 2_000_000_000 });
  instanceId = randomUUID();
  await db.sql`INSERT INTO gateway_instances (instance_id) VALUES (${instanceId})`;
});
afterAll(async () => { await db?.drop(); });

/** DESIGN.md's rule, written out plainly. */
function ruleAdmits(entries: unknown[], name: string): boolean {
  return entries.some((entry) => typeof entry === 'string' && (entry === name || (entry.endsWith('*') && name.startsWith(entry.slice(0, -1)))));
}

/** `enabledMcps` is the column's JSON text, or null for SQL NULL. */
async function decide(enabledMcps: string | null, tools: string[], model = 'gpt-4o') {
  await db.sql`UPDATE workspace_config SET enabled_mcps = ${enabledMcps}::text::jsonb WHERE workspace_id = ${ws.workspaceId}`;
  const [row] = await admitChatStatement(db.sql, {
    who: claimedIdentity(ws), req: { requestId: randomUUID(), endpoint: 'openAI', model, ipAddress: null, userAgent: null },
    slots: [[model]], promptTokens: 1, bodyOutputCap: null, usageId: randomUUID(), instanceId, tools,
  });
  return { code: row!.code, name: row!.mcp_name ?? null };
}

describe('enabled_mcps matching', () => {
  it('refuses exactly what the rule refuses, naming the first name not enabled, for random names and entries', async () => {
    const char = fc.constantFrom('a', 'b', '_', '-', '.', 'é', '😀', '*');
    const name = fc.array(char, { minLength: 1, maxLength: 5 }).map((chars) => chars.join(''));
    const entry = fc.oneof(name, name.map((n) => `${n}*`), fc.constant('*'), fc.integer({ min: 0, max: 9 }), fc.constant(null));
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 5 }), fc.uniqueArray(name, { maxLength: 4 }), async (entries, tools) => {
        const result = await decide(JSON.stringify(entries), tools);
        const firstRefused = tools.find((tool) => !ruleAdmits(entries, tool)) ?? null;
        expect(result).toEqual(firstRefused === null ? { code: null, name: null } : { code: 'mcp_not_enabled', name: firstRefused });
      }),
      { numRuns: 150 },
    );
  });

  it('reads only a JSON array of names: an object, a string, "*" as a string, a number or NULL enables nothing', async () => {
    expect(await decide('["github"]', ['github'])).toEqual({ code: null, name: null });
    for (const column of ['{"github": true}', '"github"', '"*"', '[5]', 'null', null]) {
      expect(await decide(column, ['github']), String(column)).toEqual({ code: 'mcp_not_enabled', name: 'github' });
    }
    // A chat that asks for no tool needs no entry at all, whatever the column holds.
    expect(await decide(null, [])).toEqual({ code: null, name: null });
  });

  it('is decided after model_not_enabled and before the quota', async () => {
    expect((await decide('[]', ['github'], 'o1')).code).toBe('model_not_enabled');
    await db.sql`UPDATE workspace_quotas SET requests_used = requests_limit WHERE workspace_id = ${ws.workspaceId}`;
    try {
      expect((await decide('[]', ['github'])).code).toBe('mcp_not_enabled');
      expect((await decide('["*"]', ['github'])).code).toBe('quota_exceeded');
    } finally {
      await db.sql`UPDATE workspace_quotas SET requests_used = 0 WHERE workspace_id = ${ws.workspaceId}`;
    }
  });
});

describe('readChatTools', () => {
  it('reads ephemeralAgent.mcp, the built-in flags that are exactly true, and addedConvo, each name once', () => {
    expect(readChatTools({
      ephemeralAgent: { mcp: ['github', 7, 'sys__clear__sys', 'github'], web_search: true, execute_code: 'true', file_search: false },
      addedConvo: { ephemeralAgent: { mcp: ['jira'], execute_code: true, file_search: true } },
    })).toEqual(['github', 'web_search', 'jira', 'execute_code', 'file_search']);
    expect(readChatTools({ ephemeralAgent: null, addedConvo: [] })).toEqual([]);
  });

  it('adds a model spec\'s tools through the lookup it is given', () => {
    const specs: Record<string, string[]> = { research: ['web_search', 'arxiv'] };
    expect(readChatTools({ spec: 'research', addedConvo: { spec: 'none' } }, (spec) => specs[spec])).toEqual(['web_search', 'arxiv']);
  });

  it('refuses names PostgreSQL cannot hold and more names than it bounds', () => {
    expect(() => readChatTools({ ephemeralAgent: { mcp: ['a\u0000b'] } })).toThrow(/not valid/);
    expect(() => readChatTools({ ephemeralAgent: { mcp: ['x'.repeat(256)] } })).toThrow(/not valid/);
    expect(() => readChatTools({ ephemeralAgent: { mcp: Array.from({ length: 33 }, (_, i) => `s${i}`) } })).toThrow(/at most 32/);
    expect(() => readChatTools({ ephemeralAgent: { mcp: Array.from({ length: 10 }, (_, i) => `${i}${'y'.repeat(250)}`) } })).toThrow(/too long/);
  });
});
