import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { GithubReceiver } from '../../test/support/github-receiver.ts';
import {
  eventRecords,
  pipelineFixture,
  processorConfig,
  publishInChunks,
  QUICK_REJOIN,
  spawnProcessor,
  stopChild,
  useCleanup,
  writeConfigFile,
} from '../../test/support/pipeline.ts';
import { expectedAlerts, referenceScenario } from '../../test/support/scenarios.ts';
import { groupOf } from './group.ts';

const TOKEN_ENV = 'EDR_TICKET_RESTART_TEST_TOKEN';
const TOKEN = 'ghp_RestartTestToken0123456789';
const GROUP_BY = ['agentId', 'sessionId'] as const;

/**
 * The real CLI processor in a child process, alert → ticket sink → GitHub receiver, SIGKILLed while its
 * first create is in flight: GitHub made the issue, the processor never heard back, its state file holds only
 * the intent and its offsets are not committed. The next processor handles the same events again, so the
 * same alert comes again: it must find that issue by its group label and open no second one.
 */
describe('ticket sink across a kill -9 (real processor, Kafka, child process)', () => {
  const defer = useCleanup();

  it('opens exactly one issue per alert group and one comment per later alert, after a kill between create and checkpoint', async () => {
    const {
      config: transport,
      publisher,
      directory,
    } = await pipelineFixture(defer, 'kafka', 'tickets-kill', QUICK_REJOIN);
    const receiver = await GithubReceiver.start({ owner: 'acme', repo: 'security', token: TOKEN });
    defer(() => receiver.close());
    process.env[TOKEN_ENV] = TOKEN;
    defer(() => {
      delete process.env[TOKEN_ENV];
    });
    const config = processorConfig(transport, {
      group: `tickets-kill-${randomUUID()}`,
      directory,
      processor: { logLevel: 'info' },
      sinks: [
        {
          type: 'ticket',
          minSeverity: 'info',
          stateFile: join(directory, 'tickets.jsonl'),
          groupBy: GROUP_BY,
          target: {
            kind: 'github',
            apiUrl: receiver.url,
            owner: 'acme',
            repo: 'security',
            tokenEnv: TOKEN_ENV,
            lookupSettleMs: 0,
          },
          delivery: { retry: { attempts: 10, initialDelayMs: 50, maxDelayMs: 1_000 } },
        },
      ],
    });
    const configPath = await writeConfigFile(directory, 'processor.yaml', config);
    const events = referenceScenario({
      runId: randomUUID().slice(0, 8),
      sessionsPerRule: 1,
      startMs: Date.now() - 10 * 60_000,
    });
    const alerts = expectedAlerts(events);
    const perGroup = new Map<string, number>();
    for (const alert of alerts) {
      const { label } = groupOf(alert, GROUP_BY);
      perGroup.set(label, (perGroup.get(label) ?? 0) + 1);
    }
    expect(
      [...perGroup.values()].some((count) => count > 1),
      'a group with a second alert',
    ).toBe(true);

    let created!: () => void;
    const firstCreate = new Promise<void>((resolve) => {
      created = resolve;
    });
    receiver.holdCreates(() => created());
    const first = spawnProcessor(configPath);
    defer(() => stopChild(first));
    await first.address;
    await publishInChunks(publisher.createProducer(), eventRecords(events));
    await firstCreate;
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    expect(receiver.issues).toHaveLength(1);
    receiver.release();

    const second = spawnProcessor(configPath);
    defer(() => stopChild(second));
    await second.address;
    const commentsExpected = alerts.length - perGroup.size;
    await vi.waitFor(
      () => {
        const comments = receiver.issues.reduce((sum, issue) => sum + issue.comments.length, 0);
        if (receiver.issues.length < perGroup.size || comments < commentsExpected) {
          throw new Error(`${receiver.issues.length} issues, ${comments} comments`);
        }
      },
      { timeout: 60_000, interval: 200 },
    );
    expect(await stopChild(second), second.output().slice(-2_000)).toBe(0);

    expect(receiver.refusals).toEqual([]);
    expect(receiver.issues).toHaveLength(perGroup.size);
    for (const [label, count] of perGroup) {
      const issues = receiver.issuesWithLabel(label);
      expect(issues, label).toHaveLength(1);
      expect(issues[0]!.comments, label).toHaveLength(count - 1);
    }
    const markers = receiver.issues.flatMap((issue) =>
      [issue.body, ...issue.comments.map((comment) => comment.body)].map((body) => body.split('\n')[0]),
    );
    expect(new Set(markers).size).toBe(alerts.length);
    expect(second.output() + first.output()).not.toContain(TOKEN);
  }, 150_000);
});
