// Boot and shutdown. Start: config → database (embedded when DATABASE_URL is unset) → migrations →
// instance heartbeat → gateway → sweeper → private metrics listener (METRICS_PORT) → listen.
// SIGTERM/SIGINT: refuse new requests (503 shutting_down) and stop listening, let open generations finish
// until SHUTDOWN_DEADLINE, settle the rest with what was used, then close the pool (and the embedded database).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildGateway } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { startUploadHoldSweep } from './files/upload-sweep.ts';
import { createLogger } from './log.ts';
import { answerConnect } from './proxy/request-target.ts';
import { markInstanceStopped, registerInstance, startSweeper } from './metering/sweeper.ts';
import { startMetricsServer } from './ops/metrics-access.ts';

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`geko-gateway: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: config.dbPoolMax,
    prepare: config.dbPrepare, connectTimeoutMs: config.dbConnectTimeoutMs,
  });
  const { sql } = database;
  if (config.migrateOnStart) {
    const result = await migrate(sql);
    if (result.applied.length > 0) logger.info('migrations applied', { applied: result.applied });
  }
  const instanceId = randomUUID();
  await registerInstance(sql, instanceId, config.flyMachineId);
  const gateway = buildGateway({ config, sql, logger, instanceId });
  const sweeper = startSweeper({
    sql, logger, instanceId, heldUsageIds: gateway.meter.heldUsageIds, reservationTtlMs: config.reservationTtlMs,
    instanceStaleMs: config.instanceStaleMs, intervalMs: config.sweepIntervalMs,
  });
  const uploadSweep = startUploadHoldSweep({ sql, logger, instanceId, instanceStaleMs: config.instanceStaleMs, intervalMs: config.sweepIntervalMs });

  // Uploads may take long, so no whole-request timeout; slow headers may not (slowloris), and Node only
  // checks that every connectionsCheckingInterval. Keep-alive outlives Fly's proxy idle timeout.
  const serverOptions = {
    requestTimeout: 0,
    headersTimeout: config.clientHeadersTimeoutMs,
    keepAliveTimeout: 65_000,
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(config.clientHeadersTimeoutMs / 2))),
  };
  // The private metrics listener first, so a port conflict stops the start before any traffic is taken.
  const metricsServer = config.metricsPort === undefined ? undefined
    : await startMetricsServer({ registry: gateway.metrics.registry, port: config.metricsPort, host: config.metricsHost, logger });
  const server = http.createServer(serverOptions, gateway.requestListener);
  server.on('connect', answerConnect);
  server.listen(config.port, config.host, () => {
    const { port } = server.address() as AddressInfo;
    logger.info('listening', { port, host: config.host, instance_id: instanceId, embedded_database: database.embedded !== undefined });
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal, open_generations: gateway.meter.openGenerations() });
    gateway.startDraining();
    server.close();
    server.closeIdleConnections();
    await gateway.meter.drain(config.shutdownDeadlineMs);
    sweeper.stop();
    metricsServer?.close();
    uploadSweep.stop();
    await markInstanceStopped(sql, instanceId).catch(() => undefined);
    server.closeAllConnections();
    gateway.close();
    await database.close();
    logger.info('stopped');
    logger.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // Start-up errors carry no request data; their message is what the operator needs to act.
  process.stderr.write(`geko-gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
