import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  defaultDashboardsDir,
  importSavedObjects,
  readSavedObjects,
  SetupError,
  waitForKibana,
} from './index.ts';
import { AVAILABLE, FakeKibana, NOT_READY, status } from './testing/fake-kibana.ts';
import { closedPort } from './testing/net.ts';

let kibana: FakeKibana | undefined;
afterEach(async () => {
  await kibana?.close();
  kibana = undefined;
});

const fast = { timeoutMs: 2_000, intervalMs: 20 };

describe('waiting for Kibana', () => {
  it('waits through "not ready" and an unavailable status until it is available', async () => {
    kibana = await FakeKibana.start({ statuses: [NOT_READY, status('unavailable'), AVAILABLE] });
    await expect(waitForKibana({ url: kibana.url }, fast)).resolves.toEqual({
      version: '9.2.4',
      level: 'available',
    });
    expect(kibana.requests.filter((request) => request.path === '/api/status')).toHaveLength(3);
  });

  it('takes degraded as ready: a plugin is unwell, but saved objects can be imported', async () => {
    kibana = await FakeKibana.start({ statuses: [status('critical'), status('degraded')] });
    await expect(waitForKibana({ url: kibana.url }, fast)).resolves.toEqual({
      version: '9.2.4',
      level: 'degraded',
    });
  });

  it('gives up after the timeout with the last reason', async () => {
    kibana = await FakeKibana.start({ statuses: [status('unavailable')] });
    const error = await waitForKibana({ url: kibana.url }, { timeoutMs: 300, intervalMs: 20 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SetupError);
    expect((error as SetupError).message).toMatch(
      new RegExp(
        `^Kibana at ${kibana.url}: not ready after 0s \\(last error: /api/status answered HTTP 503, level unavailable\\)$`,
      ),
    );
  });

  it('says so when nothing listens', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const error = await waitForKibana({ url }, { timeoutMs: 200, intervalMs: 20 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      new RegExp(`^Kibana at ${url}: not ready after 0s \\(last error: fetch failed: .*ECONNREFUSED`),
    );
  });

  it('fails at once on refused credentials, and sends the configured ones', async () => {
    kibana = await FakeKibana.start({ authorization: 'ApiKey c2VjcmV0' });
    await expect(waitForKibana({ url: kibana.url }, { timeoutMs: 60_000, intervalMs: 20 })).rejects.toThrow(
      /refused the credentials \(HTTP 401\)/,
    );
    expect(kibana.requests).toHaveLength(1);
    await expect(
      waitForKibana({ url: kibana.url, auth: { apiKey: 'c2VjcmV0' } }, fast),
    ).resolves.toMatchObject({
      version: '9.2.4',
    });
  });
});

describe('importing the saved objects', () => {
  it('sends the dashboards as a multipart *.ndjson file with kbn-xsrf, and a second import overwrites', async () => {
    kibana = await FakeKibana.start();
    const bundle = readSavedObjects(defaultDashboardsDir(), 'clawdstrike');
    const first = await importSavedObjects({ url: kibana.url }, bundle);
    expect(first.successCount).toBe(bundle.count);
    expect(first.byType).toMatchObject({ 'index-pattern': 2, dashboard: 3 });
    const request = kibana.requests.at(-1);
    expect(request?.path).toBe('/api/saved_objects/_import?overwrite=true');
    expect(request?.headers['kbn-xsrf']).toBe('true');
    expect(request?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);

    const stored = kibana.store.size;
    await importSavedObjects({ url: kibana.url }, bundle);
    expect(kibana.store.size).toBe(stored);
    expect(kibana.imports).toHaveLength(2);
  });

  it('puts data views on the configured index prefix, keeping their ids', () => {
    const bundle = readSavedObjects(defaultDashboardsDir(), 'acme-edr');
    const views = bundle.ndjson
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; id: string; attributes: { title: string } })
      .filter((object) => object.type === 'index-pattern');
    expect(views.map((view) => [view.id, view.attributes.title])).toEqual([
      ['clawdstrike-edr-events', 'acme-edr-events-*'],
      ['clawdstrike-edr-alerts', 'acme-edr-alerts-*'],
    ]);
    expect(bundle.files[0]).toBe('data-views.ndjson');
  });

  it('reports each object Kibana refused, with the missing references', async () => {
    kibana = await FakeKibana.start();
    const dir = mkdtempSync(join(tmpdir(), 'edr-dashboards-'));
    const dashboard = {
      type: 'dashboard',
      id: 'd1',
      attributes: { title: 'Broken' },
      references: [{ type: 'lens', id: 'nowhere', name: 'p1:panel_p1' }],
    };
    writeFileSync(join(dir, 'broken.ndjson'), `${JSON.stringify(dashboard)}\n`);
    await expect(
      importSavedObjects({ url: kibana.url }, readSavedObjects(dir, 'clawdstrike')),
    ).rejects.toThrow(
      'Kibana imported 0 of 1 saved objects; failed: dashboard/d1 "Broken": missing_references (missing lens/nowhere)',
    );
  });

  it('reports an HTTP refusal with Kibana`s message', async () => {
    kibana = await FakeKibana.start();
    kibana.server.respondWith(() => ({
      status: 413,
      body: JSON.stringify({
        statusCode: 413,
        message: 'Payload content length greater than maximum allowed: 26214400',
      }),
    }));
    await expect(
      importSavedObjects({ url: kibana.url }, readSavedObjects(defaultDashboardsDir(), 'clawdstrike')),
    ).rejects.toThrow(
      'Kibana refused the saved objects import (HTTP 413): Payload content length greater than maximum allowed',
    );
  });

  it('names the file and line of a broken NDJSON file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edr-dashboards-'));
    writeFileSync(join(dir, 'a.ndjson'), '{"type":"lens","id":"x","attributes":{},"references":[]}\n{oops\n');
    expect(() => readSavedObjects(dir, 'clawdstrike')).toThrow(/a\.ndjson:2: not JSON/);
  });
});

describe('the fake Kibana refuses what Kibana refuses', () => {
  it('a write without kbn-xsrf, a file not named *.ndjson, a body that is not multipart', async () => {
    kibana = await FakeKibana.start();
    const url = `${kibana.url}/api/saved_objects/_import?overwrite=true`;
    const form = (name: string) => {
      const body = new FormData();
      body.append('file', new Blob(['{"type":"lens","id":"a","attributes":{},"references":[]}\n']), name);
      return body;
    };
    const noXsrf = await fetch(url, { method: 'POST', body: form('a.ndjson') });
    expect([noXsrf.status, ((await noXsrf.json()) as { message: string }).message]).toEqual([
      400,
      'Request must contain a kbn-xsrf header.',
    ]);
    const json = await fetch(url, { method: 'POST', headers: { 'kbn-xsrf': 'true' }, body: form('a.json') });
    expect(json.status).toBe(400);
    const plain = await fetch(url, {
      method: 'POST',
      headers: { 'kbn-xsrf': 'true', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(plain.status).toBe(415);
    expect(kibana.store.size).toBe(0);
  });
});
