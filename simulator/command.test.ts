import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CommandIo, run } from '../cli/commands/simulate.ts';
import { parseRecord } from '../engine/model/index.ts';
import { ATTACK_NAMES } from './attacks.ts';
import { startCollector, stopCollector } from './test-support.ts';

/** Runs the command with captured output. */
async function simulate(...argv: string[]) {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  let stderr = '';
  const io: CommandIo = { stdout, stderr: { write: (text: string) => (stderr += text) }, env: {} };
  const code = await run(argv, io);
  return { code, stdout: Buffer.concat(chunks).toString('utf8'), stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'simulate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let server: Server | undefined;
afterEach(async () => {
  if (server) await stopCollector(server);
  server = undefined;
});

describe('clawdstrike-edr simulate', () => {
  it('has a help with every flag, attack and examples', async () => {
    const { code, stdout } = await simulate('--help');
    expect(code).toBe(0);
    for (const flag of [
      '--target',
      '--api-key',
      '--rate',
      '--agents',
      '--duration',
      '--attacks',
      '--seed',
      '--batch-size',
    ]) {
      expect(stdout).toContain(flag);
    }
    for (const flag of ['--output', '--dry-run', '--gzip', '--start']) expect(stdout).toContain(flag);
    for (const name of ATTACK_NAMES) expect(stdout).toContain(name);
    expect(stdout).toContain('Examples:');
  });

  it.each([
    [
      ['--target', 'http://x', '--api-key', 'k', '--attacks', 'credential_exfiltration,exfil'],
      /unknown attack "exfil"; valid names: credential_exfiltration, /,
    ],
    [['--target', 'http://x', '--api-key', 'k', '--rate', 'fast'], /--rate: "fast" is not a number/],
    [['--target', 'http://x', '--api-key', 'k', '--agents', '2.5'], /--agents: expected a whole number/],
    [['--target', 'http://x', '--api-key', 'k', '--verbose'], /Unknown option '--verbose'/],
    [['--api-key', 'k'], /--target URL is required/],
    [['--target', 'localhost:8080', '--api-key', 'k'], /is not an http\(s\) URL/],
    [['--target', 'http://x'], /--api-key KEY is required/],
    [
      ['--target', 'http://x', '--api-key', 'k', '--start', '2026-01-01T00:00:00Z'],
      /--start only applies with --output/,
    ],
    [['--dry-run', '--duration', '0', '--start', '2026-01-01T00:00:00Z'], /--start needs a --duration/],
  ])('refuses %j with a clear message and exit 2', async (argv, message) => {
    const { code, stderr } = await simulate(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain('--help');
  });

  it('exits 1 naming the URL when nothing answers at the target', async () => {
    const collector = await startCollector([]);
    await stopCollector(collector.server);
    const { code, stderr } = await simulate('--target', collector.url, '--api-key', 'k', '--duration', '1');
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot reach ${collector.url} (ECONNREFUSED)`);
    expect(stderr).toContain(`nothing answers at ${collector.url}`);
  });

  it('writes a reproducible NDJSON corpus with --output', async () => {
    const corpus = (name: string) => {
      const file = join(dir, name);
      return simulate(
        '--output',
        file,
        '--duration',
        '2',
        '--rate',
        '50',
        '--seed',
        '7',
        '--start',
        '2026-01-01T00:00:00Z',
      ).then((result) => ({ ...result, text: readFileSync(file, 'utf8') }));
    };
    const first = await corpus('a.jsonl');
    const second = await corpus('b.jsonl');
    expect(first.code).toBe(0);
    expect(second.text).toBe(first.text);
    const lines = first.text.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(100);
    expect(lines.length).toBeLessThanOrEqual(102);
    for (const line of lines) expect(parseRecord(JSON.parse(line)).ok).toBe(true);
    expect(first.stderr).toContain(`written     ${lines.length} records to ${join(dir, 'a.jsonl')}`);
    expect(first.stderr).toContain('seed 7');
  });

  it('writes the fleet as an asset inventory with --inventory', async () => {
    const file = join(dir, 'assets.json');
    const { code } = await simulate(
      ...[
        '--output',
        join(dir, 'c.jsonl'),
        '--duration',
        '1',
        '--agents',
        '3',
        '--seed',
        '2',
        '--inventory',
        file,
      ],
    );
    expect(code).toBe(0);
    const inventory = JSON.parse(readFileSync(file, 'utf8')) as { agents: Array<Record<string, unknown>> };
    expect(inventory.agents.map((agent) => agent.agentId)).toEqual([
      'agent-0001',
      'agent-0002',
      'agent-0003',
    ]);
    for (const agent of inventory.agents) {
      expect(agent).toMatchObject({
        owner: expect.any(String),
        team: expect.any(String),
        secretScopes: ['ci', 'development'],
      });
    }
  });

  it('writes to stdout with --dry-run, attacks included when the run is long enough', async () => {
    const { code, stdout, stderr } = await simulate(
      '--dry-run',
      '--duration',
      '90',
      '--rate',
      '20',
      '--seed',
      '1',
    );
    expect(code).toBe(0);
    const records = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(records.every((record) => parseRecord(record).ok)).toBe(true);
    for (const name of ATTACK_NAMES) expect(stderr).toMatch(new RegExp(`\\n  ${name} +[1-9]`));
  });

  it('sends to the target and reports the counts the target answered', async () => {
    const collector = await startCollector(['accept', 'reject-first']);
    server = collector.server;
    const { code, stderr } = await simulate(
      '--target',
      collector.url,
      '--api-key',
      'key-1',
      '--duration',
      '2',
      '--rate',
      '100',
    );
    expect(code).toBe(0);
    const posts = collector.received;
    const total = posts.reduce((sum, request) => sum + request.lines.length, 0);
    const accepted = posts.reduce((sum, request) => sum + request.accepted, 0);
    expect(posts.every((request) => request.headers.authorization === 'Bearer key-1')).toBe(true);
    expect(stderr).toContain(`sent        ${total} records to ${collector.url}/v1/events`);
    expect(stderr).toContain(`accepted ${accepted}, rejected 1, failed 0 (0 batches), retries 0`);
  });

  it('exits 1 when the API key is refused, or when most records are not delivered', async () => {
    const refused = await startCollector([{ status: 401 }]);
    server = refused.server;
    const first = await simulate('--target', refused.url, '--api-key', 'wrong', '--duration', '2');
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/stopped: .*refused the API key \(HTTP 401/);
    await stopCollector(refused.server);

    const broken = await startCollector(Array.from({ length: 50 }, () => ({ status: 400 })));
    server = broken.server;
    const second = await simulate(
      '--target',
      broken.url,
      '--api-key',
      'k',
      '--duration',
      '1',
      '--rate',
      '20',
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('most of the records were not delivered');
    expect(second.stderr).toMatch(/batch failed: HTTP 400/);
  });
});
