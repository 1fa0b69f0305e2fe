// Runs a cookbook file (sql/ops/*.sql) the way an operator does: the real psql client, -v variables,
// ON_ERROR_STOP, against the test file's database (psql found by system-tools.ts), and what a file's run must
// come to (done, or refused with the cookbook's exit code 3). Also a small CSV reader for `psql --csv` reports.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import { psql, toolPath } from './system-tools.ts';

export const OPS_DIR = path.resolve(new URL('../../sql/ops', import.meta.url).pathname);

export interface PsqlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runOpsFile(databaseUrl: string, file: string, vars: Record<string, string | number>, extraArgs: string[] = []): Promise<PsqlResult> {
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...extraArgs];
  for (const [name, value] of Object.entries(vars)) args.push('-v', `${name}=${value}`);
  args.push(databaseUrl, '-f', path.join(OPS_DIR, file));
  return new Promise((resolve) => {
    // No PG* variables leak in from the machine: the URL says everything.
    execFile(toolPath(psql), args, { env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8' }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the file and expects it done (exit 0); its result, for files that print a report. */
export async function expectOpsOk(databaseUrl: string, file: string, vars: Record<string, string | number>): Promise<PsqlResult> {
  const result = await runOpsFile(databaseUrl, file, vars);
  expect(result.code, `${file}: ${result.stderr}`).toBe(0);
  return result;
}

/** Runs the file and expects the cookbook's refusal: exit 3 (ON_ERROR_STOP in a script) with `message` on stderr. */
export async function expectOpsRefused(databaseUrl: string, file: string, vars: Record<string, string | number>, message: RegExp): Promise<void> {
  const result = await runOpsFile(databaseUrl, file, vars);
  expect(result.code, result.stdout).toBe(3);
  expect(result.stderr).toMatch(message);
}

/** Parses `psql --csv` output (RFC 4180 quoting) into objects keyed by the header row. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\n') { row.push(field); rows.push(row); row = []; field = ''; } else field += ch;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  const [header, ...body] = rows;
  return body.map((cells) => Object.fromEntries((header ?? []).map((name, i) => [name, cells[i] ?? ''])));
}
