// postgres.js keeps its connections and waiting queries in a small queue (src/queue.js). As published
// (3.4.9), shift() leaves a spent slot behind unless it empties the queue, and remove() scans from slot 0:
// once every pooled connection exists, a load that takes an idle connection while another is idle, and
// gives it back, grows the array by one slot per query, forever, and every query scans all of it
// (measured: 60,000 slots after 60,000 queries at 2-3 in flight on a pool of 4). patches/postgres+3.4.9.patch
// drops the spent slots; these hold the installed module to it.
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: an internal module of postgres.js, without types.
import Queue from '../node_modules/postgres/src/queue.js';

interface PgQueue<T> { length: number; push(x: T): T; shift(): T | undefined; remove(x: T): T | null }
const createQueue = Queue as <T>(initial?: T[]) => PgQueue<T>;

v8.setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

describe('postgres.js connection queue (patched)', () => {
  it('keeps its memory flat when items are taken and given back without the queue ever emptying', () => {
    const queue = createQueue<object>();
    const items = [{}, {}, {}];
    for (const item of items) queue.push(item);
    const before = heapUsed();
    for (let i = 0; i < 1_000_000; i += 1) queue.push(queue.shift()!);
    const grown = heapUsed() - before;
    // Unpatched, the array holds a million slots (8 MB); patched, a few dozen.
    expect(grown).toBeLessThan(2 * 1024 * 1024);
    expect(queue.length).toBe(3);
  });

  it('behaves as a FIFO queue with removal, like a plain array', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const) }),
      fc.record({ kind: fc.constant('shift' as const) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const queue = createQueue<number>();
      const model: number[] = [];
      let next = 0;
      for (const step of ops) {
        if (step.kind === 'push') {
          queue.push(next);
          model.push(next);
          next += 1;
        } else if (step.kind === 'shift') {
          if (model.length === 0) continue; // postgres.js never shifts an empty queue
          expect(queue.shift()).toBe(model.shift());
        } else {
          // Remove a queued item, or one that is not queued (any more).
          const target = step.pick % (next + 1);
          const at = model.indexOf(target);
          expect(queue.remove(target)).toBe(at === -1 ? null : target);
          if (at !== -1) model.splice(at, 1);
        }
        expect(queue.length).toBe(model.length);
      }
    }), { numRuns: 300 });
  });
});
