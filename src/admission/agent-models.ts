// Resolves a saved agent's model from LibreChat (GET /api/agents/:id with the caller's own token), so a
// workspace may enable either the agent id or the model behind it. Answers are cached for at most 60 s
// (lru-cache TTL): the agent's model is LibreChat's data, and a short TTL bounds how stale it can be.
import http from 'node:http';
import https from 'node:https';
import { LRUCache } from 'lru-cache';

export interface AgentModelDeps {
  target: URL;
  agent: http.Agent;
  ttlMs?: number;
  timeoutMs?: number;
}

const NONE = '';

export function createAgentModelResolver(deps: AgentModelDeps) {
  const cache = new LRUCache<string, string>({ max: 10_000, ttl: deps.ttlMs ?? 60_000 });
  const client = deps.target.protocol === 'https:' ? https : http;

  function fetchModel(agentId: string, authorization: string): Promise<string> {
    return new Promise((resolve) => {
      const url = new URL(`/api/agents/${encodeURIComponent(agentId)}`, deps.target);
      const request = client.get(url, { agent: deps.agent, headers: { authorization, accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 1024 * 1024) chunks.push(chunk);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(NONE);
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: unknown };
            resolve(typeof body.model === 'string' ? body.model : NONE);
          } catch {
            resolve(NONE);
          }
        });
        res.on('error', () => resolve(NONE));
      });
      request.setTimeout(deps.timeoutMs ?? 5_000, () => request.destroy());
      request.on('error', () => resolve(NONE));
    });
  }

  /** The agent's model, or undefined when LibreChat does not tell (unknown agent, no access, down). */
  return async function lookupAgentModel(agentId: string, authorization: string): Promise<string | undefined> {
    const cached = cache.get(agentId);
    if (cached !== undefined) return cached || undefined;
    const model = await fetchModel(agentId, authorization);
    // A miss may be this caller's token or a passing failure: remember it only briefly.
    cache.set(agentId, model, model ? {} : { ttl: 5_000 });
    return model || undefined;
  };
}
