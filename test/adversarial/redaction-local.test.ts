/**
 * Issue 13, item 11, in `npm start`'s local mode (cli/lib/local-pipeline.ts): the redaction key is generated
 * once into the data directory, beside the API key, so the same secret has the same digest after a restart;
 * the secret itself reaches neither the event nor the alert file.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { LocalPipeline } from '../../cli/lib/local-pipeline.ts';
import { useLocalPipelines } from '../support/local-pipelines.ts';

const AWS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const pipelines = useLocalPipelines();

const lines = (file: string): Array<Record<string, unknown>> => {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  } catch {
    return [];
  }
};

async function writeSecret(pipeline: LocalPipeline, dataDir: string, eventId: string): Promise<string> {
  const event = {
    eventId,
    eventType: 'file_write',
    timestamp: new Date().toISOString(),
    sessionId: `sess-${eventId}`,
    data: {
      type: 'file',
      path: './config/settings.py',
      operation: 'write',
      content: `KEY = "${AWS_KEY_ID}"`,
    },
    metadata: { source: 'cli', agentId: 'agent-local' },
  };
  const response = await fetch(`${pipeline.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${pipeline.apiKey}` },
    body: JSON.stringify(event),
  });
  expect(response.status).toBe(202);
  let content = '';
  await vi.waitFor(
    () => {
      const written = lines(join(dataDir, 'events.jsonl')).find((line) => line.eventId === eventId);
      if (!written) throw new Error(`${eventId} not written yet`);
      content = String((written.data as { content: string }).content);
    },
    { timeout: 20_000, interval: 100 },
  );
  return content;
}

describe('redaction in the single-process pipeline (clawdstrike-edr start)', () => {
  it('generates data/redaction-key once (0600) and gives a secret the same digest after a restart', async () => {
    const dataDir = pipelines.dataDir('edr-start-redaction-');
    const first = await pipelines.start(dataDir);
    const before = await writeSecret(first, dataDir, 'local-1');
    const keyFile = join(dataDir, 'redaction-key');
    const key = readFileSync(keyFile, 'utf8');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    await pipelines.stop(first);

    const second = await pipelines.start(dataDir);
    const after = await writeSecret(second, dataDir, 'local-2');
    expect(readFileSync(keyFile, 'utf8')).toBe(key);
    expect(before).toMatch(/^KEY = "\[REDACTED:SECRET_IN_WRITTEN_CONTENT#0:[0-9a-f]{16}\]"$/);
    expect(after).toBe(before);

    await vi.waitFor(
      () => {
        const alerts = lines(join(dataDir, 'alerts.jsonl')).filter(
          (a) => a.ruleId === 'SECRET_IN_WRITTEN_CONTENT',
        );
        if (alerts.length < 2) throw new Error(`${alerts.length} alerts`);
      },
      { timeout: 20_000, interval: 100 },
    );
    for (const file of ['events.jsonl', 'alerts.jsonl']) {
      expect(readFileSync(join(dataDir, file), 'utf8')).not.toContain(AWS_KEY_ID);
    }
  });
});
