import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useLocalPipelines } from '../../test/support/local-pipelines.ts';
import { expectedAlerts, referenceScenario } from '../../test/support/scenarios.ts';

const pipelines = useLocalPipelines();

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
    const dataDir = pipelines.dataDir('edr-start-');
    const pipeline = await pipelines.start(dataDir);
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
    const dataDir = pipelines.dataDir('edr-start-');
    const first = await pipelines.start(dataDir);
    const key = first.apiKey;
    await pipelines.stop(first);
    const second = await pipelines.start(dataDir);
    expect(second.apiKeyOrigin).toBe('saved');
    expect(second.apiKey).toBe(key);
  });
});
