// LibreChat's model specs, as its startup config (`GET /api/config`, `modelSpecs: {enforce, list}`) shows them
// to the caller. With `enforce: true` LibreChat replaces the body's settings (model, endpoint, agent_id, ...)
// by the named spec's preset (api/server/middleware/buildEndpointOption.js, packages/api applyModelSpecPreset
// with includePresetDefaults), so what runs is the preset's, not the body's. The config is LibreChat's, not
// the gateway's entitlements, so a short cache is fine: per caller (LibreChat may give each user its own
// config), `ttlMs` at most 60 s. Read only when a body names a spec.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { GatewayError } from '../errors.ts';
import type { Caller } from './agent-models.ts';
import { createLibreChatGet, type LibreChatGetDeps } from './librechat-get.ts';

/** One entry of `modelSpecs.list`: the spec's own fields (label, mcpServers, webSearch, ...) and its preset. */
export interface ModelSpec {
  name: string;
  preset: Record<string, unknown>;
  [field: string]: unknown;
}

export interface ModelSpecs {
  /** True only when LibreChat enforces specs and lists at least one (its own condition). */
  enforce: boolean;
  list: ModelSpec[];
}

export type ModelSpecsReader = (caller: Caller) => Promise<ModelSpecs>;

export interface ModelSpecsDeps extends LibreChatGetDeps {
  ttlMs?: number;
}

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_TTL_MS = 60_000;
const NONE: ModelSpecs = { enforce: false, list: [] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `modelSpecs` of a startup config; anything malformed is left out. */
export function modelSpecsOf(config: unknown): ModelSpecs {
  const specs = isRecord(config) ? config.modelSpecs : undefined;
  if (!isRecord(specs) || !Array.isArray(specs.list)) return NONE;
  const list = specs.list.filter((spec): spec is ModelSpec =>
    isRecord(spec) && typeof spec.name === 'string' && spec.name.length > 0 && isRecord(spec.preset));
  return { enforce: specs.enforce === true && list.length > 0, list };
}

/** LibreChat's findModelSpecByName: the first spec with exactly this name. */
export function findModelSpec(specs: ModelSpecs, name: string): ModelSpec | undefined {
  return specs.list.find((spec) => spec.name === name);
}

/** A failure to read the config: the gateway cannot tell what would run, so it refuses (fail closed). */
function unreadable(): GatewayError {
  return new GatewayError('upstream_unavailable', 'LibreChat\'s model specs could not be read; try again shortly.');
}

export function createModelSpecsReader(deps: ModelSpecsDeps): ModelSpecsReader {
  const cache = new LRUCache<string, ModelSpecs>({ max: 10_000, ttl: Math.min(deps.ttlMs ?? 30_000, MAX_TTL_MS) });
  // Callers almost always see the same config: each distinct answer is parsed and kept once, and the
  // per-caller entries point at it, so memory follows the number of distinct configs, not of users.
  const distinct = new LRUCache<string, ModelSpecs>({ max: 64 });
  const get = createLibreChatGet(deps, MAX_CONFIG_BYTES);

  function parsed(body: unknown): ModelSpecs {
    const specs = modelSpecsOf(body);
    const digest = createHash('sha256').update(JSON.stringify(specs)).digest('hex');
    const known = distinct.get(digest);
    if (known) return known;
    distinct.set(digest, specs);
    return specs;
  }

  async function fetchSpecs(authorization: string): Promise<ModelSpecs> {
    const answer = await get('/api/config', authorization);
    // A LibreChat that answers but serves no config (404 on an old or trimmed build) has no specs to enforce.
    if (answer && answer.status >= 400 && answer.status < 500) return NONE;
    // No answer, another status, a config over MAX_CONFIG_BYTES or not JSON.
    if (answer?.status !== 200) throw unreadable();
    return parsed(answer.body);
  }

  // A chat naming specs for both its conversations asks once: concurrent reads for a caller share one GET.
  const pending = new Map<string, Promise<ModelSpecs>>();

  return async function readModelSpecs(caller) {
    const cached = cache.get(caller.key);
    if (cached) return cached;
    const inFlight = pending.get(caller.key);
    if (inFlight) return inFlight;
    const read = fetchSpecs(caller.authorization).then((specs) => {
      cache.set(caller.key, specs);
      return specs;
    }).finally(() => pending.delete(caller.key));
    pending.set(caller.key, read);
    return read;
  };
}

/**
 * The spec a body names, with LibreChat's enforce flag, for checks that need more of it than its model (the
 * `entitlements` checks read its mcpServers, webSearch, fileSearch, executeCode). Undefined when the caller's
 * config has no spec of that name.
 */
export async function lookupModelSpec(read: ModelSpecsReader, caller: Caller, name: string): Promise<{ spec: ModelSpec; enforce: boolean } | undefined> {
  const specs = await read(caller);
  const spec = findModelSpec(specs, name);
  return spec ? { spec, enforce: specs.enforce } : undefined;
}
