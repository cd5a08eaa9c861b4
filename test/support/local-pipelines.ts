import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';
import {
  type LocalPipeline,
  type LocalPipelineOptions,
  startLocalPipeline,
} from '../../cli/lib/local-pipeline.ts';

/**
 * A single-process pipeline (`clawdstrike-edr start`) on free ports, quiet, with no intel or inventory;
 * `more` adds to that (webhooks, extra sinks).
 */
export function startQuietPipeline(
  dataDir: string,
  more: Partial<LocalPipelineOptions> = {},
): Promise<LocalPipeline> {
  return startLocalPipeline({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    intel: [],
    assets: [],
    logLevel: 'silent',
    ...more,
  });
}

/**
 * Quiet single-process pipelines for the tests of one file, each stopped and its data directory removed after
 * each test. A key in the developer's environment would take the place of the generated one, so it is blanked.
 */
export function useLocalPipelines(): {
  /** A fresh data directory, removed after the test. */
  dataDir(prefix: string): string;
  start(dataDir: string): Promise<LocalPipeline>;
  /** Stops a pipeline before the test ends (to start another on the same data directory). */
  stop(pipeline: LocalPipeline): Promise<void>;
} {
  const dirs: string[] = [];
  const running: LocalPipeline[] = [];
  beforeEach(() => {
    vi.stubEnv('CLAWDSTRIKE_EDR_API_KEY', '');
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await Promise.all(running.splice(0).map((pipeline) => pipeline.stop()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    dataDir(prefix) {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    async start(dataDir) {
      const pipeline = await startQuietPipeline(dataDir);
      running.push(pipeline);
      return pipeline;
    },
    async stop(pipeline) {
      running.splice(running.indexOf(pipeline), 1);
      await pipeline.stop();
    },
  };
}
