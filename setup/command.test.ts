import { Client } from '@elastic/elasticsearch';
import { afterAll, afterEach, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { run } from '../cli/commands/setup.ts';
import { requireElasticsearchUrl, uniqueIndexPrefix } from '../test/support/elasticsearch.ts';
import { FakeKibana } from './testing/fake-kibana.ts';
import { closedPort } from './testing/net.ts';

/** `clawdstrike-edr setup` as a user runs it: flags, progress on stdout, failures on stderr, exit codes. */
describe('clawdstrike-edr setup', () => {
  let stdout: MockInstance<typeof process.stdout.write>;
  let stderr: MockInstance<typeof process.stderr.write>;
  const out = () => stdout.mock.calls.map(([chunk]) => String(chunk)).join('');
  const err = () => stderr.mock.calls.map(([chunk]) => String(chunk)).join('');
  let kibana: FakeKibana;
  const env = { ...process.env };

  beforeAll(async () => {
    kibana = await FakeKibana.start();
  });
  afterAll(() => kibana.close());
  afterEach(() => {
    vi.restoreAllMocks();
    process.env = { ...env };
  });
  const capture = () => {
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  };

  it('prints its help, and refuses unknown flags with exit 2', async () => {
    capture();
    expect(await run(['--help'])).toBe(0);
    expect(out()).toMatch(/^Usage: clawdstrike-edr setup \[options\]/);
    expect(out()).toContain('--skip-kibana');
    expect(await run(['--bogus'])).toBe(2);
    expect(err()).toContain("Unknown option '--bogus'");
  });

  it('installs templates and dashboards from flags alone, exiting 0', async () => {
    const prefix = uniqueIndexPrefix('setupcli');
    const esUrl = requireElasticsearchUrl();
    // The prefix comes from the elasticsearch sink; here through the env, as compose would pass it.
    process.env.CLAWDSTRIKE_EDR_SINKS__SINKS = JSON.stringify([
      { type: 'elasticsearch', node: esUrl, indexPrefix: prefix },
    ]);
    capture();
    const code = await run(['--kibana', kibana.url, '--skip-topics', '--timeout', '30']);
    expect([code, err()]).toEqual([0, '']);
    expect(out()).toMatch(/setup: elasticsearch: index templates .* installed/);
    expect(out()).toMatch(/setup: kibana: imported \d+ saved objects/);
    expect(out()).toMatch(/setup: transport: skipped \(--skip-topics\)\nsetup: done in \d+\.\ds\n$/);
    const es = new Client({ node: esUrl });
    try {
      expect((await es.indices.getIndexTemplate({ name: `${prefix}-*` })).index_templates).toHaveLength(2);
      await es.indices.deleteIndexTemplate({ name: `${prefix}-*` });
    } finally {
      await es.close();
    }
  });

  it('exits 1 naming the step and the cause', async () => {
    capture();
    const url = `http://127.0.0.1:${await closedPort()}`;
    expect(await run(['--elasticsearch', url, '--timeout', '1', '--skip-kibana', '--skip-topics'])).toBe(1);
    expect(err()).toMatch(
      new RegExp(`^setup: failed: elasticsearch: Elasticsearch at ${url}: not ready after 1s`),
    );
    expect(await run(['--kibana', 'nope', '--skip-templates'])).toBe(1);
    expect(err()).toContain('setup.kibanaUrl (--kibana): Invalid URL');
    expect(await run(['--config', '/nonexistent/edr.yaml'])).toBe(1);
    expect(err()).toContain('cannot read config file /nonexistent/edr.yaml');
  });
});
