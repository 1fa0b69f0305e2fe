// The memory the soak holds the gateway to, read from fly.toml so the soak tests the machine that is deployed:
// the gateway runs with fly.toml's NODE_OPTIONS (its V8 heap cap), and its RSS must stay within RSS_SHARE of
// the [[vm]] memory (the rest is the kernel, Fly's init and headroom, so the machine is never killed for
// memory). SOAK_RSS_BUDGET_MB and SOAK_NODE_OPTIONS override both, e.g. to size a different machine.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The share of the machine's memory the gateway's RSS may use. */
export const RSS_SHARE = 0.75;

export interface MemoryBudget {
  /** fly.toml's [[vm]] memory, MB. */
  machineMb: number;
  /** NODE_OPTIONS the gateway runs with (fly.toml's [env], or SOAK_NODE_OPTIONS). */
  nodeOptions: string;
  /** The gateway's RSS must stay at or below this, MB. */
  rssBudgetMb: number;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The section of a TOML text from its header to the next header (enough for fly.toml's flat sections). */
function section(toml: string, header: string): string {
  const start = toml.indexOf(`\n${header}\n`);
  if (start === -1) return '';
  const rest = toml.slice(start + header.length + 2);
  const next = rest.search(/^\s*\[/m);
  return next === -1 ? rest : rest.slice(0, next);
}

function stringValue(text: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, 'm').exec(text)?.[1];
}

/** `512mb`, `1gb`, `2048` (MB) as fly.toml's memory accepts them. */
export function parseMemoryMb(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(mb|gb)?$/i.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (match[2]?.toLowerCase() === 'gb' ? 1024 : 1));
}

export function flyMachine(toml = readFileSync(path.join(ROOT, 'fly.toml'), 'utf8')): { memoryMb: number; nodeOptions: string } {
  const memory = stringValue(section(toml, '[[vm]]'), 'memory');
  const memoryMb = memory === undefined ? undefined : parseMemoryMb(memory);
  const nodeOptions = stringValue(section(toml, '[env]'), 'NODE_OPTIONS');
  if (memoryMb === undefined || nodeOptions === undefined) throw new Error('fly.toml must set [[vm]] memory and [env] NODE_OPTIONS');
  return { memoryMb, nodeOptions };
}

export function memoryBudget(env: Record<string, string | undefined> = process.env): MemoryBudget {
  const machine = flyMachine();
  const override = env.SOAK_RSS_BUDGET_MB === undefined ? undefined : Number(env.SOAK_RSS_BUDGET_MB);
  if (override !== undefined && !(override > 0)) throw new Error(`SOAK_RSS_BUDGET_MB must be a positive number of MB, got "${env.SOAK_RSS_BUDGET_MB}"`);
  return {
    machineMb: machine.memoryMb,
    nodeOptions: env.SOAK_NODE_OPTIONS ?? machine.nodeOptions,
    rssBudgetMb: override ?? Math.floor(machine.memoryMb * RSS_SHARE),
  };
}
