import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Browser, chromium, type Page } from 'playwright-core';
import { run as simulate } from '../../cli/commands/simulate.ts';
import { REPO_ROOT } from '../support/shared.ts';

/** Debian's chromium (installed by .ci/run), headless, with nothing that reaches the network by itself. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Screenshots land here (gitignored): test artifacts, one folder per store. */
export function artifactsDir(label: string): string {
  const dir = join(REPO_ROOT, 'test', 'browser', 'artifacts', label);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

const quiet = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

/** A short simulator run against the collector, every attack planted early (the CLI's own code). */
export async function simulatorRun(collectorUrl: string, apiKey: string): Promise<void> {
  const code = await simulate(
    [
      '--target',
      collectorUrl,
      '--api-key',
      apiKey,
      '--seed',
      '7',
      '--agents',
      '3',
      '--rate',
      '150',
      '--duration',
      '4',
      '--attack-interval',
      '1',
    ],
    { stdout: quiet(), stderr: quiet(), env: {} },
  );
  if (code !== 0) throw new Error(`simulator exited ${code}`);
}
