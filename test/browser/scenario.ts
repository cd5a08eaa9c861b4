import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import { hostileEvents, upstreamEvents } from '../../console/server/test/support.ts';
import type { ScriptedHttpServer } from '../support/http-server.ts';
import { screenshot, simulatorRun } from './support.ts';

/**
 * The page's DOM as the page.evaluate callbacks below use it: they run in Chromium, while the project compiles
 * without lib.dom (its fetch and Buffer types would change for every Node module).
 */
interface PageElement {
  className: string;
  textContent: string | null;
  rowIndex?: number;
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
}
declare const document: {
  activeElement: PageElement | null;
  scripts: { length: number };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};

export interface ConsoleTarget {
  label: string;
  consoleUrl: string;
  /** The one-time admin login link the console printed. */
  adminLoginUrl: string;
  collectorUrl: string;
  apiKey: string;
  receiver: ScriptedHttpServer;
  webhookSecret: string;
  viewer: { name: string; password: string };
  responder: { name: string; password: string };
  artifacts: string;
}

export const USERS = {
  viewer: { name: 'vera', role: 'viewer', password: 'viewer password 1' },
  responder: { name: 'rita', role: 'responder', password: 'responder password 2' },
} as const;

const WAIT = { timeout: 60_000 };

async function sendNdjson(target: ConsoleTarget, body: string): Promise<void> {
  const response = await fetch(`${target.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/x-ndjson' },
    body,
  });
  const answer = (await response.json()) as { accepted: number };
  expect(answer, JSON.stringify(answer)).toMatchObject({ accepted: body.trim().split('\n').length });
}

async function passwordLogin(
  browser: Browser,
  target: ConsoleTarget,
  user: { name: string; password: string },
) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${target.consoleUrl}/alerts`);
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.getByLabel('User').fill(user.name);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/alerts$/);
  await expect.poll(() => page.locator('.who').textContent()).toContain(user.name);
  return page;
}

/** A POST from inside the page, the way a hand-made request from a logged-in browser would come. */
function postFromPage(page: Page, path: string, body: unknown): Promise<number> {
  return page.evaluate(
    async ({ path, body }) => {
      const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
      const response = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify(body),
      });
      return response.status;
    },
    { path, body },
  );
}

/**
 * The analyst's loop in a real browser, against a console already serving an empty store: log in with the
 * printed link, watch alerts arrive, filter, open CREDENTIAL_EXFILTRATION, read its events, jump to the
 * timeline, acknowledge / assign / close it, then check what a viewer and a responder may do.
 */
export async function triageScenario(browser: Browser, target: ConsoleTarget): Promise<void> {
  const dialogs: string[] = [];
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });

  // 1. Log in with the printed one-time link.
  await page.goto(target.adminLoginUrl);
  await page.waitForURL(/\/alerts$/);
  await expect.poll(() => page.locator('h1').textContent()).toBe('Alert queue');
  await page.locator('#queue[data-live-state="open"]').waitFor(WAIT);
  expect(await page.locator('#queue tbody tr').count()).toBe(0);

  // 2 and 3. Fixture events and a simulator run; the alerts arrive in the open page, no reload.
  await sendNdjson(target, upstreamEvents());
  await sendNdjson(target, hostileEvents());
  await simulatorRun(target.collectorUrl, target.apiKey);
  const arrivedExfiltration = page.locator('#queue tbody tr.arrived', { hasText: 'CREDENTIAL_EXFILTRATION' });
  await arrivedExfiltration.first().waitFor(WAIT);
  await expect.poll(() => page.locator('#live-status').textContent()).toMatch(/Live: \d+ new alerts?/);
  // The counts follow the rows that arrived (the page opened on an empty store); read at one instant.
  const [arrived, ...counts] = await page.evaluate(() => [
    document.querySelectorAll('#queue tbody tr.arrived').length,
    ...Array.from(document.querySelectorAll('.matching'), (count) => Number(count.textContent)),
  ]);
  expect(arrived).toBeGreaterThan(1);
  expect(counts).toEqual([arrived, arrived]);
  await screenshot(page, target.artifacts, '1-queue-live');

  // 4. Filter to CREDENTIAL_EXFILTRATION (the form, submitted from the keyboard).
  await page.getByLabel('Rule').selectOption('CREDENTIAL_EXFILTRATION');
  await page.getByLabel('Search').press('Enter');
  await page.waitForURL(/rule=CREDENTIAL_EXFILTRATION/);
  const rules = await page.locator('#queue tbody a.rule-link').allTextContents();
  expect(rules.length).toBeGreaterThanOrEqual(2);
  expect(new Set(rules)).toEqual(new Set(['CREDENTIAL_EXFILTRATION']));
  await screenshot(page, target.artifacts, '2-queue-filtered');
  // Keyboard: j moves to the next alert's link.
  await page.locator('main h1').click();
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  expect(await page.evaluate(() => document.activeElement?.className)).toBe('rule-link');
  const focusedRow = await page.evaluate(() => document.activeElement?.closest('tr')?.rowIndex);
  expect(focusedRow).toBe(2);

  // 5. Open the upstream one and read its two events in full.
  await page.locator('#queue tbody tr', { hasText: 'sess-0001' }).locator('a.rule-link').click();
  await page.waitForURL(/\/alerts\/[0-9a-f]+$/);
  const alertUrl = page.url();
  const alertPath = new URL(alertUrl).pathname;
  expect(await page.locator('h1 .rule-name').textContent()).toBe(
    'Credential file read followed by egress to an unlisted host',
  );
  expect(await page.locator('#rule-description').textContent()).toContain('network_egress');
  expect(await page.locator('dl.tags').textContent()).toContain('ATLAS');
  const read = page.locator('article.event[data-event-id="evt-0001"]');
  const egress = page.locator('article.event[data-event-id="evt-0007"]');
  expect(await read.textContent()).toContain('/home/alice/.ssh/id_rsa');
  expect(await read.locator('header').textContent()).toContain('file_read');
  expect(await egress.textContent()).toContain('evil.example');
  expect(await egress.textContent()).toContain('https://evil.example/steal');
  expect(await egress.locator('.outcome').textContent()).toBe('allow');
  await screenshot(page, target.artifacts, '3-alert-detail');

  // 6. Jump to the session timeline: both events are marked, the first is opened and focused.
  await page.locator('#jump-timeline').click();
  await page.waitForURL(/\/timeline\?/);
  const marked = page.locator('#timeline li.focus');
  expect(await marked.count()).toBe(2);
  expect(
    await marked.evaluateAll((items) => items.map((item) => item.getAttribute('data-event-id'))),
  ).toEqual(['evt-0001', 'evt-0007']);
  await expect
    .poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-event-id')))
    .toBe('evt-0001');
  const times = await page
    .locator('#timeline li time')
    .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('datetime') ?? ''));
  expect(times).toEqual([...times].sort());
  const sessionEvents = upstreamEvents()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { sessionId?: string; metadata?: { agentId?: string } })
    .filter((event) => event.sessionId === 'sess-0001' && event.metadata?.agentId === 'agent-0001');
  expect(await page.locator('#timeline li').count()).toBe(sessionEvents.length);
  expect(await page.locator('#timeline li[data-outcome="allow"]').count()).toBeGreaterThan(0);
  await screenshot(page, target.artifacts, '4-timeline');
  // Filter by event type.
  await page.getByRole('checkbox', { name: 'network_egress', exact: true }).check();
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/type=network_egress/);
  const types = await page
    .locator('#timeline li')
    .evaluateAll((items) => items.map((item) => item.getAttribute('data-event-type')));
  expect(types.length).toBeGreaterThan(0);
  expect(new Set(types)).toEqual(new Set(['network_egress']));

  // 7. Acknowledge, assign, close as a false positive with a note.
  await page.goto(alertUrl);
  const form = page.locator('form.workflow');
  await form.getByLabel('Status').selectOption('acknowledged');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect.poll(() => page.locator('#status').textContent()).toBe('acknowledged');
  await form.getByLabel('Assign to').fill(target.responder.name);
  await form.getByRole('button', { name: 'Save' }).click();
  await expect.poll(() => page.locator('#assignee').textContent()).toBe(target.responder.name);
  await form.getByLabel('Status').selectOption('closed');
  await form.getByLabel('Verdict').selectOption('false_positive');
  await form.getByLabel('Note').fill('test key of the fixture corpus, not a real credential');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect.poll(() => page.locator('#status').textContent()).toBe('closed');
  expect(await page.locator('#verdict').textContent()).toBe('false_positive');

  // 8. Every change recorded, with user and time, and shown.
  const changes = page.locator('ol.history li.change');
  expect(await changes.count()).toBe(3);
  const texts = await changes.allTextContents();
  expect(texts[0]).toContain('status open → acknowledged');
  expect(texts[1]).toContain(`assigned to ${target.responder.name}`);
  expect(texts[2]).toContain('status acknowledged → closed');
  expect(texts[2]).toContain('verdict false_positive');
  expect(texts[2]).toContain('test key of the fixture corpus');
  expect(await changes.locator('.change-user').allTextContents()).toEqual(['admin', 'admin', 'admin']);
  expect(await changes.locator('time').count()).toBe(3);
  await screenshot(page, target.artifacts, '5-workflow');

  // Hostile telemetry renders as text: no dialog, only our script.
  await page.goto(
    `${target.consoleUrl}/alerts?agent=${encodeURIComponent('agent-<script>alert(0)</script>')}`,
  );
  await page.locator('#queue tbody a.rule-link').first().click();
  await page.waitForURL(/\/alerts\/[0-9a-f]+$/);
  expect(await page.locator('main').textContent()).toContain('/home/x/.ssh/<script>alert(1)</script>');
  expect(await page.evaluate(() => document.scripts.length)).toBe(1);
  await page.locator('#jump-timeline').click();
  await page.waitForURL(/\/timeline\?/);
  expect(await page.locator('main').textContent()).toContain('<img src=x onerror=alert(2)>');
  expect(await page.locator('main img, main svg[onload], main script').count()).toBe(0);
  expect(dialogs).toEqual([]);
  await screenshot(page, target.artifacts, '6-hostile-as-text');

  // 9. A viewer sees no workflow or response controls, and the server refuses both when asked anyway.
  const viewer = await passwordLogin(browser, target, target.viewer);
  await viewer.goto(alertUrl);
  expect(await viewer.locator('form.workflow').count()).toBe(0);
  expect(await viewer.locator('form.respond').count()).toBe(0);
  expect(
    await postFromPage(viewer, `/api${alertPath}/workflow`, { status: 'closed', verdict: 'benign' }),
  ).toBe(403);
  expect(await postFromPage(viewer, `/api${alertPath}/respond`, { action: 'terminate_session' })).toBe(403);
  await screenshot(viewer, target.artifacts, '7-viewer');

  // 10. A responder terminates the session; the signed webhook arrives and the delivery shows.
  const responder = await passwordLogin(browser, target, target.responder);
  await responder.goto(alertUrl);
  await responder.locator('form.respond').getByLabel('Action').selectOption('terminate_session');
  await responder.getByRole('button', { name: 'Run response action' }).click();
  await responder.waitForURL(alertUrl);
  const alertId = alertPath.split('/').pop()!;
  const manual = () =>
    target.receiver.requests.find((request) => {
      const body = JSON.parse(request.body.toString('utf8')) as {
        alertId: string;
        alert: { enrichment: { manualResponse?: { user: string } } };
      };
      return body.alertId === alertId && body.alert.enrichment.manualResponse?.user === target.responder.name;
    });
  await expect.poll(manual, WAIT).toBeDefined();
  const request = manual()!;
  expect(request.path).toContain('/terminate');
  expect(request.headers['idempotency-key']).toBe(`${alertId}:terminate_session`);
  const verified = new Webhook(target.webhookSecret).verify(request.body.toString('utf8'), {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  }) as { action: string; sessionId: string };
  expect(verified.action).toBe('terminate_session');
  expect(verified.sessionId).toBe('sess-0001');
  const delivered = responder.locator('tr.action[data-action="terminate_session"]', {
    hasText: target.responder.name,
  });
  await expect
    .poll(async () => {
      await responder.reload();
      return delivered.getAttribute('data-status');
    }, WAIT)
    .toBe('delivered');
  await screenshot(responder, target.artifacts, '8-response-delivered');
  expect(consoleErrors).toEqual([]);
  await context.close();
}
