import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../main.ts', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

describe('clawdstrike-edr collector', () => {
  it('refuses an invalid config with the exact key, reason and exit status 1', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'collector'], {
      encoding: 'utf8',
      env: { ...process.env, CLAWDSTRIKE_EDR_RATE_LIMIT__PER_AGENT__BURST: '-5' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /rateLimit\.perAgent\.burst \(CLAWDSTRIKE_EDR_RATE_LIMIT__PER_AGENT__BURST\): .*>0/,
    );
  });

  it('serves with two workers, sums their metrics, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'collector', '--port', String(port)], {
      env: {
        ...process.env,
        CLAWDSTRIKE_EDR_API_KEY: 'cli-test-key',
        CLAWDSTRIKE_EDR_SERVER__HOST: '127.0.0.1',
        CLAWDSTRIKE_EDR_SERVER__WORKERS: '2',
        CLAWDSTRIKE_EDR_SERVER__LOG_LEVEL: 'warn',
        CLAWDSTRIKE_EDR_TRANSPORT__KIND: 'memory',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    await expect
      .poll(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status, {
        timeout: 30_000,
        interval: 200,
      })
      .toBe(200);
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: 'Bearer cli-test-key', 'content-type': 'application/json' },
        body: JSON.stringify({
          eventId: `cli-${i}`,
          eventType: 'file_read',
          timestamp: '2026-11-25T17:00:00Z',
          data: { type: 'file', path: '/etc/hosts' },
        }),
      });
      expect(response.status).toBe(202);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('edr_collector_records_accepted_total{protocol="events"} 6');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
