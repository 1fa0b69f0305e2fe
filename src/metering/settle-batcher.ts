// Group commit for settlements. Settlement is off the request path, so a settlement that arrives while
// another batch's statement is running waits for it and goes with the next batch: one statement then
// settles every generation that ended meanwhile (settleBatch), instead of one statement each. With
// `lingerMs`, the first settlement after a quiet spell also waits that long for others to join it, so a
// gateway whose chats end one after another (one client at a time) still settles them in batches; a
// busy one sends batches of up to MAX_BATCH, each within lingerMs plus one statement's round trip of
// its end. The gateway lingers 20 ms (meter.ts): well inside the 5 s a settlement may take, and a hold
// kept 20 ms longer only makes the next admission more careful, never less. A batch is one transaction, so
// a failure (or the process dying) leaves all of its rows open; each caller's own retry re-sends its
// settlement, and the guard in the statement keeps every settlement exactly once. A batch PostgreSQL
// refuses (not a lost connection) is settled again one by one, so a bad settlement fails alone.
import { isDatabaseUnavailable, type Sql } from '../db/sql.ts';
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

export interface BatcherOptions {
  maxBatch?: number;
  /** How long the first settlement after a quiet spell waits for others (0: it goes at once). */
  lingerMs?: number;
}

export function createSettlementBatcher(sql: Sql, options: BatcherOptions = {}): SettlementBatcher {
  const maxBatch = options.maxBatch ?? MAX_BATCH;
  const lingerMs = options.lingerMs ?? 0;
  let queue: Waiting[] = [];
  let running = false;
  let lingering = false;

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
        if (batch.length === 1 || isDatabaseUnavailable(error)) {
          for (const w of batch) w.reject(error);
        } else {
          // One settlement PostgreSQL refuses must not hold back the others it was batched with (each would
          // be retried with it for ever): each goes on its own, and only the one that fails again fails.
          await Promise.all(batch.map((w) => settleUsage(sql, w.settlement).then(w.resolve, w.reject)));
        }
      }
    }
    running = false;
  }

  return {
    settle(settlement) {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ settlement, resolve, reject });
        if (running || lingering) return;
        if (lingerMs <= 0) {
          void drain();
          return;
        }
        // Not unref'd: a process that is ending still settles what it holds (meter.ts drain) before it exits.
        lingering = true;
        setTimeout(() => {
          lingering = false;
          void drain();
        }, lingerMs);
      });
    },
  };
}
