import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../main.ts', import.meta.url).pathname;
const UPSTREAM = new URL('../../../shared/fixtures/upstream/policy-events/events.jsonl', import.meta.url)
  .pathname;
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', input });

describe('clawdstrike-edr replay', () => {
  it('replays the upstream PolicyEvent corpus deterministically', () => {
    const first = execFileSync(process.execPath, ['--import', 'tsx', CLI, 'replay', '--quiet', UPSTREAM], {
      encoding: 'utf8',
    });
    const second = execFileSync(process.execPath, ['--import', 'tsx', CLI, 'replay', '--quiet', UPSTREAM], {
      encoding: 'utf8',
    });
    expect(second).toBe(first);
    const alerts = first
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { ruleId: string; eventIds: string[] });
    expect(alerts.find((a) => a.ruleId === 'CREDENTIAL_EXFILTRATION')?.eventIds).toEqual([
      'evt-0001',
      'evt-0007',
    ]);
  });

  it('reports bad lines with file:line and field, and reads stdin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-'));
    const file = join(dir, 'bad.jsonl');
    writeFileSync(
      file,
      '{"eventId":"e1","eventType":"network_egress","timestamp":"2026-01-01T00:00:00Z","data":{"type":"network","host":"x","port":0}}\nnot json\n',
    );
    const result = run(['replay', file]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`${file}:1: data.port:`);
    expect(result.stderr).toContain(`${file}:2: invalid JSON`);
    const stdin = run(
      ['replay', '-'],
      '{"eventId":"e1","eventType":"file_read","timestamp":"2026-01-01T00:00:00Z","data":{"type":"file","path":"/etc/passwd"}}\n',
    );
    expect(stdin.stderr).toContain('1 events');
  });

  it('validates rules with precise errors and helps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    writeFileSync(
      join(dir, 'x.yaml'),
      'rules:\n  - {id: X, name: x, severity: low, type: match, condition: {fact: target, operator: globx, value: a}}\n',
    );
    const result = run(['rules', 'validate', dir]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('x.yaml: rule X: $.condition.operator: unknown operator "globx"');
    expect(run(['rules', 'validate', new URL('../../rules/', import.meta.url).pathname]).status).toBe(0);
    expect(run(['replay', '--help']).stdout).toContain('Usage: clawdstrike-edr replay');
    expect(run(['nope']).status).toBe(2);
  });
});
