import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { expectedAlerts, referenceScenario } from '../../test/support/scenarios.ts';
import { type LocalPipeline, startLocalPipeline } from './local-pipeline.ts';

const dirs: string[] = [];
const running: LocalPipeline[] = [];

// A key in the developer's environment would take the place of the generated one.
beforeEach(() => {
  vi.stubEnv('CLAWDSTRIKE_EDR_API_KEY', '');
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(running.splice(0).map((pipeline) => pipeline.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<LocalPipeline> {
  const pipeline = await startLocalPipeline({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    intel: [],
    assets: [],
    logLevel: 'silent',
  });
  running.push(pipeline);
  return pipeline;
}

function alertIdsIn(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { alertId: string }).alertId);
  } catch {
    return [];
  }
}

describe('the single-process pipeline (clawdstrike-edr start)', () => {
  it('authenticates with its generated key and writes the expected alerts under the data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'edr-start-'));
    dirs.push(dataDir);
    const pipeline = await start(dataDir);
    expect(pipeline.apiKeyOrigin).toBe('generated');
    expect(readFileSync(pipeline.apiKeyFile, 'utf8').trim()).toBe(pipeline.apiKey);

    const events = referenceScenario({ runId: 'start', sessionsPerRule: 1, startMs: Date.now() - 3_600_000 });
    const body = events.map((event) => JSON.stringify(event)).join('\n');
    const send = (authorization?: string) =>
      fetch(`${pipeline.collectorUrl}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-ndjson',
          ...(authorization ? { authorization } : {}),
        },
        body,
      });
    expect((await send()).status).toBe(401);
    const accepted = await send(`Bearer ${pipeline.apiKey}`);
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({ accepted: events.length, rejected: 0 });

    const expected = expectedAlerts(events)
      .map((alert) => alert.alertId)
      .sort();
    await expect
      .poll(() => alertIdsIn(join(dataDir, 'alerts.jsonl')).sort(), { timeout: 20_000, interval: 200 })
      .toEqual(expected);
  });

  it('keeps its API key across restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'edr-start-'));
    dirs.push(dataDir);
    const first = await start(dataDir);
    const key = first.apiKey;
    await running.pop()?.stop();
    const second = await start(dataDir);
    expect(second.apiKeyOrigin).toBe('saved');
    expect(second.apiKey).toBe(key);
  });
});
