import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, Registry } from 'prom-client';
import { type LifecycleLogger, runUntilSignal } from '../core/lifecycle.ts';
import { superviseWorkers } from '../core/supervisor.ts';
import { buildCollector, type CollectorDeps } from './app.ts';
import type { CollectorConfig } from './config.ts';

const METRICS_REQUEST = 'edr:collector-metrics';

/**
 * Runs the collector until SIGTERM/SIGINT and returns the exit code. With `server.workers` > 1 the process
 * becomes a node:cluster primary: workers share the port (round-robin), each with its own broker producer,
 * and each enforces 1/N of the rate limits; /metrics on any worker answers the sum over all of them.
 */
export async function runCollector(config: CollectorConfig): Promise<number> {
  const { workers } = config.server;
  if (workers <= 1) return serve(config, {});
  if (cluster.isPrimary) return supervise(config);
  const registry = new Registry();
  // Constructing it installs prom-client's worker-side listener; the primary aggregates through it.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  const code = await serve(shareLimits(config, workers), { registry, renderMetrics: askPrimaryForMetrics });
  // The IPC channel to the primary would keep this process alive after the server closed.
  cluster.worker?.disconnect();
  return code;
}

async function serve(config: CollectorConfig, deps: CollectorDeps): Promise<number> {
  const app = await buildCollector(config, deps);
  try {
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (error) {
    app.log.fatal({ err: error }, 'cannot listen');
    await app.close();
    return 1;
  }
  // Stop accepting, drain requests in flight (each waits for its broker acknowledgement), flush, close.
  return runUntilSignal([{ stop: () => app.close() }], config.server.shutdownTimeoutMs, app.log);
}

/** Forks the workers, replaces one that dies, answers their metrics requests, and stops them on a signal. */
function supervise(config: CollectorConfig): Promise<number> {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: { type?: string; id?: string }) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_REQUEST, id: message.id, text }),
      (error: Error) => worker.send({ type: METRICS_REQUEST, id: message.id, error: error.message }),
    );
  });
  const log: LifecycleLogger = {
    info: (fields, message) => logLine(30, fields, message),
    error: (fields, message) => logLine(50, fields, message),
  };
  const workers = superviseWorkers({
    workers: config.server.workers,
    name: 'collector worker',
    log,
    start: () => cluster.fork().process,
  });
  // Each worker has the shutdown timeout for itself; the primary allows them that and a margin.
  return runUntilSignal([workers], config.server.shutdownTimeoutMs * 2, log);
}

function askPrimaryForMetrics(): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = randomUUID();
    const timer = setTimeout(
      () => finish(new Error('no metrics from the cluster primary within 5 s')),
      5_000,
    );
    const onMessage = (message: { type?: string; id?: string; text?: string; error?: string }) => {
      if (message?.type !== METRICS_REQUEST || message.id !== id) return;
      finish(message.error ? new Error(message.error) : undefined, message.text);
    };
    const finish = (error?: Error, text?: string) => {
      clearTimeout(timer);
      process.off('message', onMessage);
      if (error) reject(error);
      else resolve(text ?? '');
    };
    process.on('message', onMessage);
    process.send?.({ type: METRICS_REQUEST, id });
  });
}

/** Connections are spread round-robin, so N workers each allowing 1/N approximate the configured limits. */
function shareLimits(config: CollectorConfig, workers: number): CollectorConfig {
  const share = (limits: { ratePerSecond: number; burst: number }) => ({
    ratePerSecond: limits.ratePerSecond / workers,
    burst: Math.max(1, limits.burst / workers),
  });
  const { rateLimit } = config;
  return {
    ...config,
    rateLimit: {
      ...rateLimit,
      perKey: share(rateLimit.perKey),
      perKeyRecords: share(rateLimit.perKeyRecords),
      perAgent: share(rateLimit.perAgent),
    },
  };
}

/** The primary has no fastify app; it writes the same JSON lines as the workers' pino logs. */
function logLine(level: 30 | 50, fields: Record<string, unknown>, msg: string): void {
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, ...fields, msg })}\n`);
}
