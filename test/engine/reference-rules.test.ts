import { describe, expect, it } from 'vitest';
import { bundledRules, denied, egress, event, read, replayEngine } from './helpers.ts';

/** The four reference rules, at their boundaries. */
describe('CREDENTIAL_EXFILTRATION', () => {
  const run = (events: ReturnType<typeof read>[]) =>
    replayEngine(bundledRules(['CREDENTIAL_EXFILTRATION'])).run(events);

  it.each([
    ['exactly 5 minutes', 300, 1],
    ['5 minutes and 1 ms', 300.001, 0],
  ])('egress %s after the read → %i alert(s)', (_, seconds, expected) => {
    expect(run([read(0, '/home/a/.ssh/id_rsa'), egress(seconds, 'evil.example')])).toHaveLength(expected);
  });

  it.each(['/home/a/.ssh/id_rsa', '/root/.aws/credentials', '/srv/app/.env', '.env'])(
    'fires for %s',
    (path) => {
      expect(run([read(0, path), egress(1, 'evil.example')])).toHaveLength(1);
    },
  );

  it.each(['/srv/app/.env.local', '/srv/app/env', '/home/a/ssh/id_rsa'])('ignores %s', (path) => {
    expect(run([read(0, path), egress(1, 'evil.example')])).toHaveLength(0);
  });

  it.each(['api.openai.com', 'x.y.openai.com', 'api.anthropic.com', 'api.github.com'])(
    'allowlists %s',
    (host) => {
      expect(run([read(0, '/home/a/.ssh/id_rsa'), egress(1, host)])).toHaveLength(0);
    },
  );

  it.each(['openai.com', 'github.com', 'uploads.github.com', 'openai.com.evil.example'])(
    'does not allowlist %s',
    (host) => {
      expect(run([read(0, '/home/a/.ssh/id_rsa'), egress(1, host)])).toHaveLength(1);
    },
  );

  it('needs the read first, in the same session', () => {
    expect(run([egress(0, 'evil.example'), read(1, '/home/a/.ssh/id_rsa')])).toHaveLength(0);
    expect(
      run([read(0, '/home/a/.ssh/id_rsa'), egress(1, 'evil.example', { sessionId: 'other' })]),
    ).toHaveLength(0);
  });
});

describe('PROMPT_INJECTION_CHAIN', () => {
  const run = (events: ReturnType<typeof read>[]) =>
    replayEngine(bundledRules(['PROMPT_INJECTION_CHAIN'])).run(events);

  it.each([
    [2, 0],
    [3, 1],
  ])('%i further denials → %i alert(s)', (further, expected) => {
    const events = [
      denied(0, 'prompt_injection'),
      ...Array.from({ length: further }, (_, i) => denied(60 + i, 'egress_allowlist')),
    ];
    expect(run(events)).toHaveLength(expected);
  });

  it.each([
    ['exactly 10 minutes', 600, 1],
    ['10 minutes and 1 ms', 600.001, 0],
  ])('third further denial %s after the block → %i', (_, seconds, expected) => {
    expect(
      run([denied(0, 'jailbreak_detection'), denied(1, 'x'), denied(2, 'x'), denied(seconds, 'x')]),
    ).toHaveLength(expected);
  });

  it('needs a prompt_injection or jailbreak_detection denial to start', () => {
    expect(run([denied(0, 'forbidden_path'), denied(1, 'x'), denied(2, 'x'), denied(3, 'x')])).toHaveLength(
      0,
    );
    const warned = event(
      0,
      'custom',
      { type: 'custom', customType: 'x' },
      { decision: { status: 'warn', guard: 'prompt_injection' } },
    );
    expect(run([warned, denied(1, 'x'), denied(2, 'x'), denied(3, 'x')])).toHaveLength(0);
  });
});

describe('RAPID_FILE_ENUMERATION', () => {
  const reads = (count: number, distinct: number, spacingMs: number) =>
    Array.from({ length: count }, (_, i) => read((i * spacingMs) / 1000, `/srv/f-${i % distinct}`));
  const run = (count: number, distinct: number, spacingMs = 100) =>
    replayEngine(bundledRules(['RAPID_FILE_ENUMERATION'])).run(reads(count, distinct, spacingMs));

  it('100 vs 101 reads (all distinct)', () => {
    expect(run(100, 100)).toHaveLength(0);
    expect(run(101, 101)).toHaveLength(1);
  });

  it('50 vs 51 distinct paths (101 reads)', () => {
    expect(run(101, 50)).toHaveLength(0);
    expect(run(101, 51)).toHaveLength(1);
  });

  it('exactly 1 minute vs just over', () => {
    expect(run(101, 101, 600)).toHaveLength(1);
    expect(run(101, 101, 601)).toHaveLength(0);
  });

  it('alerts once per burst and lists every contributing read', () => {
    const alerts = run(250, 250);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.eventCount).toBe(101);
    expect(alerts[0]!.eventIds).toHaveLength(100);
  });
});

describe('LATERAL_MOVEMENT_PREP', () => {
  const run = (events: ReturnType<typeof read>[]) =>
    replayEngine(bundledRules(['LATERAL_MOVEMENT_PREP'])).run(events);
  const command = (seconds: number, line: string) =>
    event(seconds, 'command_exec', { type: 'command', command: line });
  const toolCommand = (seconds: number, line: string) =>
    event(seconds, 'tool_call', { type: 'tool', toolName: 'shell_exec', parameters: { command: line } });

  it.each([
    ['exactly 30 minutes', 1800, 1],
    ['30 minutes and 1 ms', 1800.001, 0],
  ])('spanning %s → %i', (_, seconds, expected) => {
    expect(run([read(0, '/etc/passwd'), command(10, 'whoami'), egress(seconds, 'example.org')])).toHaveLength(
      expected,
    );
  });

  it.each([
    'whoami',
    'hostname',
    '/usr/bin/hostname -f',
    'ifconfig -a',
    'ip addr',
    'ip -4 addr show',
    'sh -c "whoami"',
  ])('recognizes %s', (line) => {
    expect(run([read(0, '/etc/hosts'), toolCommand(1, line), egress(2, 'example.org')])).toHaveLength(1);
  });

  it.each(['hostnamectl', 'echo whoamix', 'ip route', 'npm run whoami-check'])(
    'does not take %s for discovery',
    (line) => {
      expect(run([read(0, '/etc/hosts'), command(1, line), egress(2, 'example.org')])).toHaveLength(0);
    },
  );

  it('needs all three in one session', () => {
    expect(run([read(0, '/etc/resolv.conf'), command(1, 'whoami')])).toHaveLength(0);
    expect(
      run([read(0, '/etc/resolv.conf'), command(1, 'whoami'), egress(2, 'x.org', { sessionId: 'other' })]),
    ).toHaveLength(0);
  });
});
