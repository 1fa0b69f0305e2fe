// Reading LibreChat's answer on after the client left a route that streams on the POST (assistants,
// OpenAI-compatible): LibreChat reports usage at the end of its answer, so cutting it when the client goes
// would lose the usage of a run that goes on (DESIGN.md, Metering; finding M1).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The longest the gateway reads LibreChat's answer on after its client left. */
const READ_ON_MAX_MS = 30 * 60_000;

/**
 * Keeps LibreChat's answer flowing after the client left (http-proxy unpipes and pauses it then), and
 * bounds how long: idleTimeoutMs of silence, READ_ON_MAX_MS in all. Past either, the answer is cut and
 * settled with what it carried (at least the prompt estimate: a model was called).
 */
export function readOnAfterClientLeft(upstreamRes: IncomingMessage, clientRes: ServerResponse, idleTimeoutMs: number) {
  let idle: NodeJS.Timeout | undefined;
  let total: NodeJS.Timeout | undefined;
  const state = {
    clientLeft: false,
    onData(): void {
      if (!state.clientLeft) return;
      clearTimeout(idle);
      idle = setTimeout(() => upstreamRes.destroy(), idleTimeoutMs);
    },
    stop(): void {
      clearTimeout(idle);
      clearTimeout(total);
    },
  };
  const left = () => {
    if (clientRes.writableFinished || upstreamRes.complete || upstreamRes.destroyed) return;
    state.clientLeft = true;
    state.onData();
    total = setTimeout(() => upstreamRes.destroy(), READ_ON_MAX_MS);
    // After http-proxy's pipe is set up (a client gone before the answer still gets one, whose writes
    // fail and would pause LibreChat's answer for good): unpipe, and read on.
    setImmediate(() => {
      upstreamRes.unpipe(clientRes);
      upstreamRes.resume();
    });
  };
  if (clientRes.destroyed) left();
  else clientRes.once('close', left);
  return state;
}

