// The request and settlement lines skip pino (Logger.record writes them itself, src/log.ts): they must still
// be the very line pino writes for the same fields, which a child logger (pino's own path) shows.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type RequestLogFields } from '../src/log.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } });
  return { lines, destination };
}

const withoutTime = (line: string) => line.replace(/"time":"[^"]*"/, '"time":"T"');

const SAMPLES: RequestLogFields[] = [
  { request_id: 'r-1', method: 'GET', route: 'pass', status: 200, duration_ms: 1.23 },
  { request_id: 'r-2', model: 'gpt-"4"\\o\n\t', endpoint: undefined, hold_tokens: 0, code: 'quota_exceeded', n: Number.NaN, big: 1e21, yes: true, no: false },
  { request_id: 'r-3', model: 'é漢字😀', endpoint: `${'a'.repeat(150)}"` },
  {},
];

describe('flat-scalar log lines', () => {
  it('are the line pino writes for the same fields, with its ISO time', () => {
    const { lines, destination } = capture();
    const logger = createLogger('info', destination as never);
    for (const fields of SAMPLES) {
      logger.request(fields);
      logger.child({}).request(fields);
      logger.record('settled', fields);
      logger.child({}).record('settled', fields);
    }
    expect(lines).toHaveLength(SAMPLES.length * 4);
    for (let i = 0; i < lines.length; i += 2) expect(withoutTime(lines[i]!)).toBe(withoutTime(lines[i + 1]!));
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'info', request_id: 'r-1', status: 200, msg: 'request' });
    expect(Number.isNaN(Date.parse(first.time as string))).toBe(false);
  });

  it('are not written above the info level', () => {
    const { lines, destination } = capture();
    createLogger('warn', destination as never).request({ request_id: 'r-4' });
    expect(lines).toEqual([]);
  });
});
