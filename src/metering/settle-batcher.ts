// Group commit for settlements. Settlement is off the request path, so a settlement that arrives while
// another batch's statement is running waits for it and goes with the next batch: one statement then
// settles every generation that ended meanwhile (settleBatch), instead of one statement each. Nothing
// waits on a timer: an idle gateway sends each settlement at once, a busy one sends them in batches of
// up to MAX_BATCH, each within one statement's round trip of its end. A batch is one transaction, so
// a failure (or the process dying) leaves all of its rows open; each caller's own retry re-sends its
// settlement, and the guard in the statement keeps every settlement exactly once.
import type { Sql } from '../db/sql.ts';
import { settleBatch, settleUsage, type Settlement } from './settle.ts';

const MAX_BATCH = 128;

interface Waiting {
  settlement: Settlement;
  resolve(settled: boolean): void;
  reject(error: unknown): void;
}

export interface SettlementBatcher {
  /** Resolves true when this settlement closed its row, false when the row was already settled. */
  settle(settlement: Settlement): Promise<boolean>;
}

export function createSettlementBatcher(sql: Sql, maxBatch = MAX_BATCH): SettlementBatcher {
  let queue: Waiting[] = [];
  let running = false;

  /** The next batch: the oldest waiting settlements, at most one per usage id (a repeat waits its turn). */
  function takeBatch(): Waiting[] {
    const ids = new Set<string>();
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const waiting of queue) {
      const id = waiting.settlement.usageId.toLowerCase();
      if (batch.length < maxBatch && !ids.has(id)) {
        ids.add(id);
        batch.push(waiting);
      } else {
        rest.push(waiting);
      }
    }
    queue = rest;
    return batch;
  }

  async function drain(): Promise<void> {
    running = true;
    while (queue.length > 0) {
      const batch = takeBatch();
      try {
        if (batch.length === 1) {
          batch[0]!.resolve(await settleUsage(sql, batch[0]!.settlement));
        } else {
          const settled = await settleBatch(sql, batch.map((w) => w.settlement));
          for (const w of batch) w.resolve(settled.has(w.settlement.usageId.toLowerCase()));
        }
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    running = false;
  }

  return {
    settle(settlement) {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ settlement, resolve, reject });
        if (!running) void drain();
      });
    },
  };
}
