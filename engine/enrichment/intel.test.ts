import { describe, expect, it } from 'vitest';
import { event } from '../../test/engine/helpers.ts';
import { parseAssetCsv } from './assets.ts';
import { IntelIndex, parseIndicatorCsv, parseIndicatorJson, parseIndicatorText } from './intel.ts';

describe('threat intel', () => {
  const text = parseIndicatorText(
    '# feed\nevil.example\n*.bad.test\n198.51.100.0/24\n203.0.113.9\nhttps://x.test/Path\nsha256:' +
      'A'.repeat(64) +
      '\nnot a thing\n',
    'feed.txt',
  );
  const csv = parseIndicatorCsv(
    'type,value,description\ndomain,csv.test,"listed, quoted"\nip,10.9.9.9,\n',
    'feed.csv',
  );
  const stix = parseIndicatorJson(
    {
      type: 'bundle',
      objects: [
        {
          type: 'indicator',
          name: 'c2',
          pattern_type: 'stix',
          pattern: "[domain-name:value = 'stix.test'] OR [ipv4-addr:value = '192.0.2.0/24']",
        },
        { type: 'indicator', pattern: `[file:hashes.'SHA-256' = '${'b'.repeat(64)}']` },
        { type: 'indicator', pattern: "[url:value = 'http://a.test/'] AND [domain-name:value = 'a.test']" },
      ],
    },
    'bundle.json',
  );

  it('parses text, CSV and STIX and reports what it refuses', () => {
    expect(text.indicators.map((i) => i.type)).toEqual(['domain', 'domain', 'cidr', 'ip', 'url', 'sha256']);
    expect(text.problems).toEqual(['feed.txt:8: "not a thing" is not a domain, IP, CIDR, sha256 or URL']);
    expect(csv.indicators).toMatchObject([
      { value: 'csv.test', description: 'listed, quoted' },
      { type: 'ip', value: '10.9.9.9' },
    ]);
    expect(stix.indicators.map((i) => i.value)).toEqual(['stix.test', '192.0.2.0/24', 'b'.repeat(64)]);
    expect(stix.problems).toHaveLength(1);
  });

  it('matches host, url and hashes of events', () => {
    const index = new IntelIndex([...text.indicators, ...csv.indicators, ...stix.indicators]);
    const egress = (host: string, url?: string) =>
      event(0, 'network_egress', { type: 'network', host, port: 443, url });
    expect(index.match(egress('a.b.bad.test')).indicators).toEqual(['*.bad.test']);
    expect(index.match(egress('bad.test')).matched).toBe(false);
    expect(index.match(egress('EVIL.example.')).matched).toBe(true);
    expect(index.match(egress('198.51.100.200')).types).toEqual(['cidr']);
    expect(index.match(egress('ok.test', 'HTTPS://X.TEST/Path')).fields).toEqual(['url']);
    const write = event(0, 'file_write', {
      type: 'file',
      path: '/x',
      operation: 'write',
      contentHash: `sha256:${'b'.repeat(64)}`,
    });
    expect(index.match(write).matches).toMatchObject([{ field: 'contentHash', source: 'bundle.json' }]);
  });

  it('reads an inventory CSV', () => {
    const parsed = parseAssetCsv(
      'agentId,owner,criticality,secretScopes\nagent-1,alice,high,ci;payments\nagent-2,bob,extreme,\n',
      'assets.csv',
    );
    expect(parsed.records).toEqual([
      { agentId: 'agent-1', owner: 'alice', criticality: 'high', secretScopes: ['ci', 'payments'] },
    ]);
    expect(parsed.problems[0]).toMatch(/^assets.csv:3: criticality/);
  });
});
