// The compacted statement text (src/db/compact-sql.ts): comments and whitespace go, quoted text stays,
// and PostgreSQL runs the result exactly as it ran the text as written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactPart, compactSql } from '../src/db/compact-sql.ts';
import type { Sql } from '../src/db/sql.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

describe('compactPart', () => {
  it('drops comments and folds whitespace to one space', () => {
    expect(compactPart('\n    SELECT a, -- why a\n      b\n\t FROM t  ')).toBe(' SELECT a, b FROM t ');
  });

  it('keeps quoted literals and identifiers as written', () => {
    expect(compactPart(`SELECT '--  not a comment', "odd  name" -- but this is\n`)).toBe(`SELECT '--  not a comment', "odd  name" `);
    expect(compactPart(`SELECT 'it''s  --  fine'`)).toBe(`SELECT 'it''s  --  fine'`);
  });
});

describe('compactSql against PostgreSQL', () => {
  let db: TestDatabase;
  let sql: Sql;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = db.sql;
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('sends the short text, with parameters and fragments, and gets the same answer', async () => {
    const tag = compactSql(sql);
    const inner = tag`
      -- a fragment
      ${'b  b'}::text AS second`;
    const rows = await tag<{ first: string; second: string }[]>`
      SELECT ${'a -- a'}::text AS first,   -- the first
             ${inner}`;
    expect(rows).toEqual([{ first: 'a -- a', second: 'b  b' }]);
    const [row] = await tag<{ query: string }[]>`SELECT current_query() AS query   -- gone`;
    expect(row?.query).toBe('SELECT current_query() AS query ');
  });

  it('is one tag per pool', () => {
    expect(compactSql(sql)).toBe(compactSql(sql));
  });
});
