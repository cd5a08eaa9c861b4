import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOverlaysYaml } from '../../engine/index.ts';

const CLI = new URL('../main.ts', import.meta.url).pathname;
const UPSTREAM = new URL('../../../shared/fixtures/upstream/policy-events/events.jsonl', import.meta.url)
  .pathname;
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', input });

describe('clawdstrike-edr suggest-policy', () => {
  const alerts = execFileSync(process.execPath, ['--import', 'tsx', CLI, 'replay', '--quiet', UPSTREAM], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  const dir = mkdtempSync(join(tmpdir(), 'suggest-policy-'));

  it('prints the merged overlay of replayed alerts, the same bytes whatever the order', () => {
    const forward = join(dir, 'alerts.jsonl');
    const backward = join(dir, 'reversed.jsonl');
    writeFileSync(forward, `${alerts.join('\n')}\n`);
    writeFileSync(backward, `${[...alerts].reverse().join('\n')}\n`);
    const first = run(['suggest-policy', forward]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(run(['suggest-policy', backward]).stdout).toBe(first.stdout);
    const suggesting = alerts
      .map((line) => JSON.parse(line) as { agentId: string; response?: { policySuggestion: unknown } })
      .filter((alert) => alert.response);
    expect(suggesting.length).toBeGreaterThan(0);
    const { overlays, problems } = parseOverlaysYaml(first.stdout);
    expect(problems).toEqual([]);
    // One document per agent (and policy): the agents' alerts merged.
    expect(overlays.length).toBe(new Set(suggesting.map((alert) => alert.agentId)).size);
    expect(first.stdout).toMatch(/^# agent "/);
    expect(run(['suggest-policy', '--agent', 'nobody', forward]).stderr).toContain('no policy suggestions');
  });

  it('names each line that is not an alert, still prints the rest, and exits 1', () => {
    const file = join(dir, 'mixed.jsonl');
    const [first] = alerts;
    const broken = JSON.stringify({ ...JSON.parse(first!), riskScore: 'high' });
    writeFileSync(file, `${first}\nnot json\n${broken}\n`);
    const result = run(['suggest-policy', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${file}:2: invalid JSON`);
    expect(result.stderr).toContain(`${file}:3: riskScore:`);
  });

  it('helps, and refuses a usage error', () => {
    const help = run(['suggest-policy', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: clawdstrike-edr suggest-policy');
    expect(run(['suggest-policy']).status).toBe(2);
    expect(run(['suggest-policy', '--since', 'yesterday', 'x.jsonl']).stderr).toContain(
      '--since: not an ISO 8601',
    );
    expect(run(['--help']).stdout).toContain('suggest-policy');
  });
});
