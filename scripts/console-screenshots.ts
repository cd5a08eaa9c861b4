// The README's console screenshots, from a demo run: `npx tsx scripts/console-screenshots.ts`.
// Runs `clawdstrike-edr demo` on spare ports, logs in with the link it prints, and saves the detail of a
// CREDENTIAL_EXFILTRATION alert and its session timeline as docs/console-alert-detail.png and
// docs/console-timeline.png, in Debian's chromium (as the browser tests).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../test/browser/support.ts';

const ROOT = join(import.meta.dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'edr-screenshots-'));
const demo = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    join(ROOT, 'cli', 'main.ts'),
    'demo',
    ...['--duration', '40', '--rate', '200', '--port', '18480', '--metrics-port', '18481'],
    ...['--console-port', '18482', '--data-dir', dataDir],
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let output = '';
const link = await new Promise<string>((resolve, reject) => {
  demo.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    const found = /console: (http:\/\/\S+)/.exec(output)?.[1];
    if (found) resolve(found);
  });
  demo.once('exit', (code) => reject(new Error(`demo exited ${code} before printing the console link`)));
});
const origin = new URL(link).origin;
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(link);
  // Let the fleet run long enough for every reference attack to have fired.
  await page
    .locator('#queue tbody tr', { hasText: 'CREDENTIAL_EXFILTRATION' })
    .first()
    .waitFor({ timeout: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  await page.goto(`${origin}/alerts?rule=CREDENTIAL_EXFILTRATION`);
  await page.locator('#queue tbody a.rule-link').first().click();
  await page.waitForURL(/\/alerts\/[0-9a-f]+$/);
  await page.screenshot({ path: join(ROOT, 'docs', 'console-alert-detail.png'), fullPage: true });
  await page.locator('#jump-timeline').click();
  await page.waitForURL(/\/timeline\?/);
  await page.screenshot({ path: join(ROOT, 'docs', 'console-timeline.png') });
  console.log('wrote docs/console-alert-detail.png and docs/console-timeline.png');
} finally {
  await browser.close();
  demo.kill('SIGTERM');
  await new Promise((resolve) => demo.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
