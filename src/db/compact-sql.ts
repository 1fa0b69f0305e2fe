// Statements written for people, sent short. PostgreSQL copies a statement's whole text on every
// execution, prepared or not: the portal keeps its own copy (exec_bind_message), pg_stat_activity gets
// one, and pg_stat_statements scans it again. For the admission statement (about 9 KB of indented SQL
// with comments) that was about 7 % of PostgreSQL's CPU per chat (perf, issue 18). `compactSql` wraps the
// pool's tag so a template's comments go and its runs of whitespace become one space, once per call site
// (the template object is the cache key), before postgres.js ever sees it.
import type { PendingQuery, Row } from 'postgres';
import type { Sql } from './sql.ts';

/** The tag the statement builders use: the pool's own, over compacted text. */
export type CompactSql = <T extends readonly unknown[] = Row[]>(strings: TemplateStringsArray, ...values: unknown[]) => PendingQuery<T extends Row[] ? T : Row[]>;

const compacted = new WeakMap<TemplateStringsArray, TemplateStringsArray>();

/**
 * One template part without `--` comments and with each run of whitespace as one space. Quoted text
 * ('literal', "identifier") is kept as written, so a `--` or a double space inside it survives. Dollar
 * quoting is not understood: keep it out of compacted statements (none of them uses it).
 */
export function compactPart(part: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < part.length; i += 1) {
    const char = part[i]!;
    if (quote !== null) {
      out += char;
      if (char === quote) quote = null;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      out += char;
    } else if (char === '-' && part[i + 1] === '-') {
      while (i + 1 < part.length && part[i + 1] !== '\n') i += 1;
      if (!out.endsWith(' ')) out += ' ';
    } else if (/\s/.test(char)) {
      if (!out.endsWith(' ')) out += ' ';
    } else {
      out += char;
    }
  }
  return out;
}

function compactTemplate(strings: TemplateStringsArray): TemplateStringsArray {
  let short = compacted.get(strings);
  if (short === undefined) {
    const parts = strings.map(compactPart);
    short = Object.freeze(Object.assign(parts, { raw: Object.freeze([...parts]) })) as unknown as TemplateStringsArray;
    compacted.set(strings, short);
  }
  return short;
}

const tags = new WeakMap<Sql, CompactSql>();

/** The pool's tag over compacted templates (one per pool, so call sites can ask for it each time). */
export function compactSql(sql: Sql): CompactSql {
  let tag = tags.get(sql);
  if (tag === undefined) {
    tag = ((strings: TemplateStringsArray, ...values: unknown[]) =>
      (sql as unknown as (s: TemplateStringsArray, ...v: unknown[]) => PendingQuery<Row[]>)(compactTemplate(strings), ...values)) as CompactSql;
    tags.set(sql, tag);
  }
  return tag;
}
