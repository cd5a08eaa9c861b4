import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { stringify } from 'yaml';
import { consoleAccess, webhookSecret } from '../../console/server/test/support.ts';
import { ScriptedHttpServer } from '../support/http-server.ts';
import { REPO_ROOT } from '../support/shared.ts';
import { type ConsoleTarget, triageScenario, USERS } from './scenario.ts';
import { artifactsDir, launchChromium } from './support.ts';

interface Started {
  child: ChildProcess;
  collectorUrl: string;
  apiKey: string;
  loginUrl: string;
}

/** `clawdstrike-edr start` as a user runs it, on free ports; resolves with what it printed. */
function startCli(dataDir: string, configFile: string): Promise<Started> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'cli', 'main.ts'),
      'start',
      ...['--port', '0', '--metrics-port', '0', '--console-port', '0'],
      ...['--data-dir', dataDir, '--config', configFile, '--log-level', 'error'],
    ],
    { env: { ...process.env, CLAWDSTRIKE_EDR_API_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`start printed no console link:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const collector = /collector\s+(http:\/\/\S+)/.exec(output)?.[1];
      const apiKey = /API key\s+(\S+)/.exec(output)?.[1];
      const login = /console\s+(http:\/\/\S+\/login\?token=\S+)/.exec(output)?.[1];
      if (collector && apiKey && login) {
        clearTimeout(timer);
        resolve({ child, collectorUrl: collector, apiKey, loginUrl: login });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`start exited ${code}:\n${output}`));
    });
  });
}

describe('triage console in a real browser, on SQLite (clawdstrike-edr start)', () => {
  let browser: Browser;
  let receiver: ScriptedHttpServer;
  let started: Started;
  let dataDir: string;
  const secret = webhookSecret();

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'edr-browser-sqlite-'));
    receiver = await ScriptedHttpServer.start(() => ({ status: 204 }));
    const config = join(dataDir, 'console.yaml');
    writeFileSync(
      config,
      stringify({
        console: await consoleAccess(Object.values(USERS)),
        sinks: {
          sinks: [
            {
              type: 'webhook',
              secret,
              actions: {
                terminate_session: { url: `${receiver.url}/agents/{agentId}/sessions/{sessionId}/terminate` },
              },
            },
          ],
        },
      }),
    );
    [started, browser] = await Promise.all([startCli(join(dataDir, 'data'), config), launchChromium()]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (started?.child.exitCode === null) {
      const exited = new Promise((resolve) => started.child.once('exit', resolve));
      started.child.kill('SIGTERM');
      await exited;
    }
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs in with the printed link, triages CREDENTIAL_EXFILTRATION, and enforces viewer and responder rights', async () => {
    const target: ConsoleTarget = {
      label: 'sqlite',
      consoleUrl: new URL(started.loginUrl).origin,
      adminLoginUrl: started.loginUrl,
      collectorUrl: started.collectorUrl,
      apiKey: started.apiKey,
      receiver,
      webhookSecret: secret,
      viewer: USERS.viewer,
      responder: USERS.responder,
      artifacts: artifactsDir('sqlite'),
    };
    await triageScenario(browser, target);
  }, 300_000);
});
