// The walk over an agent's links, against an in-memory agent directory: what it collects, what it skips, its
// bounds, and that each level's lookups are all asked before any is answered (concurrency, without timing).
import { describe, expect, it } from 'vitest';
import type { AgentLookupResult } from './agent-models.ts';
import { MAX_AGENTS, MAX_DEPTH, resolveAgentReach } from './agent-reach.ts';

type Directory = Record<string, AgentLookupResult>;
const agent = (model: string, links: string[] | null = []): AgentLookupResult => ({ kind: 'found', model, links });

function lookupIn(directory: Directory) {
  return async (id: string): Promise<AgentLookupResult> => directory[id] ?? { kind: 'absent' };
}

describe('resolveAgentReach', () => {
  it('collects every model once, breadth first, through cycles, skipping agents the caller cannot see', async () => {
    const directory: Directory = {
      a: agent('m1', ['b', 'c', 'gone']), b: agent('m2', ['a', 'd']), c: agent('m1', ['d']), d: agent('m3'),
    };
    expect(await resolveAgentReach('a', lookupIn(directory))).toEqual({ complete: true, models: ['m1', 'm2', 'm3'] });
  });

  it('is incomplete when it cannot see everything: unknown agent, failed lookup, unusable model', async () => {
    expect(await resolveAgentReach('x', lookupIn({}))).toEqual({ complete: false, reason: 'unknown_agent' });
    expect(await resolveAgentReach('a', lookupIn({ a: agent('m1', ['b']), b: { kind: 'unavailable' } }))).toEqual({ complete: false, reason: 'lookup_failed' });
    expect(await resolveAgentReach('a', lookupIn({ a: agent('m\u0000') }))).toEqual({ complete: false, reason: 'unusable_model' });
  });

  it('takes an agent shown without its links (the basic view) on the models it can see', async () => {
    expect(await resolveAgentReach('a', lookupIn({ a: agent('m1', ['b']), b: agent('m2', null) }))).toEqual({ complete: true, models: ['m1', 'm2'] });
    expect(await resolveAgentReach('s', lookupIn({ s: agent('m3', null) }))).toEqual({ complete: true, models: ['m3'] });
  });

  it(`stops at ${MAX_DEPTH} hops and ${MAX_AGENTS} agents`, async () => {
    const chain: Directory = {};
    for (let i = 0; i <= MAX_DEPTH + 1; i += 1) chain[`c${i}`] = agent('m', i <= MAX_DEPTH ? [`c${i + 1}`] : []);
    expect(await resolveAgentReach('c0', lookupIn(chain))).toEqual({ complete: false, reason: 'too_deep' });
    expect(await resolveAgentReach('c1', lookupIn(chain))).toEqual({ complete: true, models: ['m'] });
    const fan: Directory = { hub: agent('m', Array.from({ length: MAX_AGENTS }, (_, i) => `f${i}`)) };
    expect(await resolveAgentReach('hub', lookupIn(fan))).toEqual({ complete: false, reason: 'too_many_agents' });
  });

  it('asks for every agent of a level before any answer arrives', async () => {
    const directory: Directory = { hub: agent('m0', ['a', 'b', 'c']), a: agent('m1'), b: agent('m2'), c: agent('m3') };
    let outstanding = 0;
    let mostOutstanding = 0;
    const lookup = (id: string) => new Promise<AgentLookupResult>((resolve) => {
      outstanding += 1;
      mostOutstanding = Math.max(mostOutstanding, outstanding);
      // Answered on a later turn of the event loop: a walk that waited for each answer would have one outstanding.
      setImmediate(() => {
        outstanding -= 1;
        resolve(directory[id]!);
      });
    });
    expect(await resolveAgentReach('hub', lookup)).toEqual({ complete: true, models: ['m0', 'm1', 'm2', 'm3'] });
    expect(mostOutstanding).toBe(3);
  });
});
