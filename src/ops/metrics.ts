// Prometheus metrics (prom-client) on a registry of the gateway's own. Label sets are bounded: route
// classes and error codes are closed lists, and the per tenant/workspace/model token counter keeps at
// most MAX_USAGE_SERIES distinct combinations (the rest are counted under "other").
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const MAX_USAGE_SERIES = 2_000;
const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface MetricsSources {
  openGenerations: () => number;
  clientStreams: () => number;
  pendingStatements: () => number;
  poolMax: number;
}

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'geko_' });
  const requests = new Counter({ name: 'geko_requests_total', help: 'Client requests by route class and status.', labelNames: ['route', 'status'], registers: [registry] });
  const admissions = new Counter({ name: 'geko_admission_decisions_total', help: 'Admission decisions: admitted or the denial code.', labelNames: ['decision'], registers: [registry] });
  const admissionSeconds = new Histogram({ name: 'geko_admission_duration_seconds', help: 'Time of the admission statement round-trip.', buckets: LATENCY_BUCKETS, registers: [registry] });
  const settlementSeconds = new Histogram({ name: 'geko_settlement_duration_seconds', help: 'Time of the settlement statement round-trip.', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const tokensSettled = new Counter({ name: 'geko_tokens_settled_total', help: 'Tokens settled, by tenant, workspace and model.', labelNames: ['tenant', 'workspace', 'model', 'kind'], registers: [registry] });
  const upstreamErrors = new Counter({ name: 'geko_upstream_errors_total', help: 'LibreChat failures seen by the proxy, by error code.', labelNames: ['code'], registers: [registry] });
  const seenSeries = new Set<string>();

  function bindSources(sources: MetricsSources): void {
    new Gauge({ name: 'geko_open_generations', help: 'Generations whose metering subscription this process holds (holds outstanding here).', registers: [registry], collect() { this.set(sources.openGenerations()); } });
    new Gauge({ name: 'geko_client_streams', help: 'Client stream GETs served from held generations.', registers: [registry], collect() { this.set(sources.clientStreams()); } });
    new Gauge({ name: 'geko_db_statements_pending', help: 'Admission statements waiting for or using a pooled connection.', registers: [registry], collect() { this.set(sources.pendingStatements()); } });
    new Gauge({ name: 'geko_db_pool_max', help: 'Size of the database pool.', registers: [registry], collect() { this.set(sources.poolMax); } });
  }

  function usageLabels(tenant: string, workspace: string, model: string): { tenant: string; workspace: string; model: string } {
    const key = `${tenant}|${workspace}|${model}`;
    if (seenSeries.has(key) || seenSeries.size < MAX_USAGE_SERIES) {
      seenSeries.add(key);
      return { tenant, workspace, model };
    }
    return { tenant: 'other', workspace: 'other', model: 'other' };
  }

  return {
    registry,
    bindSources,
    countRequest: (route: string, status: number) => requests.inc({ route, status: String(status) }),
    countDecision: (decision: string) => admissions.inc({ decision }),
    observeAdmission: (seconds: number) => admissionSeconds.observe(seconds),
    observeSettlement: (outcome: string, seconds: number) => settlementSeconds.observe({ outcome }, seconds),
    countUpstreamError: (code: string) => upstreamErrors.inc({ code }),
    countTokens(tenant: string, workspace: string, perModel: Record<string, { prompt_tokens: number; completion_tokens: number }>) {
      for (const [model, usage] of Object.entries(perModel)) {
        const labels = usageLabels(tenant, workspace, model);
        tokensSettled.inc({ ...labels, kind: 'prompt' }, usage.prompt_tokens);
        tokensSettled.inc({ ...labels, kind: 'completion' }, usage.completion_tokens);
      }
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
