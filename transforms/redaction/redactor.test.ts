import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLED_RULES } from '../../cli/lib/inputs.ts';
import { loadRules } from '../../engine/index.ts';
import { makeAlert, makeEnvelope } from '../../test/support/sink-items.ts';
import { type RedactionConfig, RedactionConfigSchema } from './config.ts';
import { loadRedactionKey } from './key.ts';
import { Redactor } from './redactor.ts';

const KEY = Buffer.from('redaction-test-key-0123456789');
const AWS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const OPENAI_KEY = 'sk-123456789012345678901234567890';
const MARKER = /\[REDACTED:[^:\]]+:[0-9a-f]{16}\]/g;

const redactor = (config: Record<string, unknown> = {}, key = KEY) =>
  new Redactor(RedactionConfigSchema.parse(config), { key, fallbackRules: [BUNDLED_RULES] });
const events = (...list: ReturnType<typeof makeEnvelope>[]) => ({ events: list, alerts: [] });

describe('Redactor', () => {
  it('takes its detectors from SECRET_IN_WRITTEN_CONTENT, plus the configured patterns', () => {
    expect(redactor().detectorNames()).toEqual([
      'SECRET_IN_WRITTEN_CONTENT#0',
      'SECRET_IN_WRITTEN_CONTENT#1',
      'SECRET_IN_WRITTEN_CONTENT#2',
      'SECRET_IN_WRITTEN_CONTENT#3',
      'SECRET_IN_WRITTEN_CONTENT#4',
      'SECRET_IN_WRITTEN_CONTENT#5',
      'aws-secret-access-key',
    ]);
  });

  it('replaces secrets in data, target, metadata and decision with detector and keyed digest', () => {
    const event = makeEnvelope({
      eventType: 'file_write',
      target: `/tmp/${AWS_KEY_ID}.txt`,
      data: {
        type: 'file',
        path: '/tmp/x',
        content: `key: ${OPENAI_KEY}\naws_access_key_id = ${AWS_KEY_ID}\n`,
      },
      metadata: { nested: [{ note: `copy of ${AWS_KEY_ID}` }] },
      decision: { outcome: 'deny', severity: 'high', message: `found ${OPENAI_KEY}` },
    });
    const before = structuredClone(event);
    const {
      events: [out],
      clear,
    } = redactor().redact(events(event));
    expect(event).toEqual(before); // the engine's object is never touched
    expect(clear.events[0]).toBe(event);
    const text = JSON.stringify(out);
    expect(text).not.toContain(AWS_KEY_ID);
    expect(text).not.toContain(OPENAI_KEY);
    const awsMarker = out!.target.slice(5, -4);
    expect(awsMarker).toMatch(/^\[REDACTED:SECRET_IN_WRITTEN_CONTENT#0:[0-9a-f]{16}\]$/);
    expect(out!.data.content).toBe(
      `key: ${(out!.decision.message ?? '').slice(6)}\naws_access_key_id = ${awsMarker}\n`,
    );
    expect(out!.metadata).toEqual({ nested: [{ note: `copy of ${awsMarker}` }] });
    expect(out!.data.path).toBe('/tmp/x');
  });

  it('gives equal secrets equal digests, and other keys other digests', () => {
    const write = (content: string) => makeEnvelope({ data: { content } });
    const [a, b, c] = redactor().redact(
      events(write(AWS_KEY_ID), write(`x ${AWS_KEY_ID} y`), write('AKIAIOSFODNN7EXAMPLF')),
    ).events;
    const digest = (text: unknown) => String(text).match(MARKER)![0];
    expect(digest(a!.data.content)).toBe(digest(b!.data.content));
    expect(digest(a!.data.content)).not.toBe(digest(c!.data.content));
    const other = redactor({}, Buffer.from('another-key-0123456789abcdef')).redact(events(write(AWS_KEY_ID)));
    expect(digest(other.events[0]!.data.content)).not.toBe(digest(a!.data.content));
  });

  it('returns events without secrets as they are (same object)', () => {
    const event = makeEnvelope();
    expect(redactor().redact(events(event)).events[0]).toBe(event);
  });

  it('covers a whole PEM private key block, not only its header line', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const body = pem.split('\n')[5]!;
    const event = makeEnvelope({ data: { content: `before\n${pem}after` } });
    const content = String(redactor().redact(events(event)).events[0]!.data.content);
    expect(content).toMatch(/^before\n\[REDACTED:SECRET_IN_WRITTEN_CONTENT#5:[0-9a-f]{16}\]\nafter$/);
    expect(content).not.toContain(body);
    // Without its END line the rest of the value is covered.
    const cut = pem.slice(0, pem.indexOf('-----END'));
    const open = String(
      redactor().redact(events(makeEnvelope({ data: { content: cut } }))).events[0]!.data.content,
    );
    expect(open).toMatch(/^\[REDACTED:SECRET_IN_WRITTEN_CONTENT#5:[0-9a-f]{16}\]$/);
  });

  it('redacts configured field paths whole, and where the batch alerts repeat them', () => {
    const event = makeEnvelope({
      data: {
        env: { DB_PASSWORD: 'hunter2-but-longer', HOME: '/home/dev' },
        args: ['--token', 'tok_abcdef'],
      },
      metadata: { headers: { authorization: 'Bearer abc.def.ghi' } },
    });
    const alert = makeAlert({ summary: 'password hunter2-but-longer used', enrichment: {} });
    const out = redactor({ fields: ['data.env.DB_PASSWORD', 'data.args.1', 'metadata.headers.*'] }).redact({
      events: [event],
      alerts: [alert],
    });
    const data = out.events[0]!.data as { env: Record<string, string>; args: string[] };
    expect(data.env.DB_PASSWORD).toMatch(/^\[REDACTED:data\.env\.DB_PASSWORD:[0-9a-f]{16}\]$/);
    expect(data.env.HOME).toBe('/home/dev');
    expect(data.args).toEqual(['--token', expect.stringMatching(/^\[REDACTED:data\.args\.1:/)]);
    expect(out.events[0]!.metadata).toEqual({
      headers: { authorization: expect.stringMatching(/^\[REDACTED:metadata\.headers\.\*:/) },
    });
    expect(out.alerts[0]!.summary).toBe(`password ${data.env.DB_PASSWORD} used`);
    expect(RedactionConfigSchema.safeParse({ fields: ['data'] }).success).toBe(false);
    expect(RedactionConfigSchema.safeParse({ fields: ['decision.outcome'] }).success).toBe(false);
  });

  it('scans alert summaries, group keys and enrichment', () => {
    const alert = makeAlert({
      summary: `Agent wrote ${AWS_KEY_ID}`,
      groupKey: `agent-7|${AWS_KEY_ID}`,
      enrichment: { intel: { matches: [{ value: OPENAI_KEY }] } },
    });
    const out = redactor().redact({ events: [], alerts: [alert] }).alerts[0]!;
    expect(JSON.stringify(out)).not.toMatch(/AKIAIOSFODNN7EXAMPLE|sk-1234/);
    expect(out.alertId).toBe(alert.alertId);
    expect(out.agentId).toBe(alert.agentId);
  });

  it('keeps __proto__ and constructor keys as data', () => {
    const data = JSON.parse(`{"__proto__": {"k": "${AWS_KEY_ID}"}, "constructor": "${AWS_KEY_ID}"}`);
    const out = redactor().redact(events(makeEnvelope({ data }))).events[0]!.data;
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).not.toContain(AWS_KEY_ID);
  });

  it('withholds what it does not scan: past maxScanPerValue, past maxScanPerRecord, deeper than maxDepth', () => {
    const r = redactor({ maxScanPerValue: 1_024, maxScanPerRecord: 2_048, maxDepth: 3 });
    // The cut moves back to the start of the token it would split: no part of the key stays in clear.
    const long = `${'x '.repeat(510)}${AWS_KEY_ID}`;
    const deep = r.redact(events(makeEnvelope({ data: { deep: { d: { e: { f: 1 } } } } }))).events[0]!.data;
    expect(deep).toEqual({ deep: { d: { e: expect.stringMatching(/^\[REDACTED:too-deep:/) } } });
    // a takes 1024 of the record's 2048, b the other 1024; c (and metadata, decision.message) are withheld.
    const record = makeEnvelope({ target: '', data: { a: long, b: 'y'.repeat(1_500), c: 'z' } });
    const redacted = r.redact(events(record)).events[0]!;
    const out = redacted.data as Record<string, unknown>;
    expect(out.a).toMatch(/^(x ){510}\[REDACTED:unscanned:[0-9a-f]{16}\]$/);
    expect(out.b).toMatch(/^y{1024}\[REDACTED:unscanned:/);
    expect(out.c).toMatch(/^\[REDACTED:unscanned:/);
    expect(redacted.metadata).toEqual({ traceId: expect.stringMatching(/^\[REDACTED:unscanned:/) });
    expect(redacted.decision).toEqual({
      ...record.decision,
      message: expect.stringMatching(/^\[REDACTED:unscanned:/),
    });
    expect(r.stats().withheld).toBe(6);
  });

  it('scans hostile values in linear time: 8x the input costs at most 16x the time (quadratic would be 64x)', () => {
    const r = redactor();
    const units = ['-----BEGIN RSA PRIVATE KEY-----', `${AWS_KEY_ID} `, 'sk-', 'a'];
    // The fastest of three runs, so that a busy host's pauses do not count.
    const time = (content: string) => {
      let best = Number.POSITIVE_INFINITY;
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        const out = r.redact(events(makeEnvelope({ data: { content } }))).events[0]!;
        best = Math.min(best, performance.now() - started);
        expect(String(out.data.content)).not.toContain(AWS_KEY_ID);
      }
      return best;
    };
    for (const unit of units) {
      const small = unit.repeat(Math.ceil(8_192 / unit.length));
      const large = unit.repeat(Math.ceil(65_536 / unit.length));
      const [smallMs, largeMs] = [time(small), time(large)];
      expect(
        largeMs,
        `${JSON.stringify(unit)}: 8 KiB ${smallMs.toFixed(1)} ms, 64 KiB ${largeMs.toFixed(1)} ms`,
      ).toBeLessThan(16 * smallMs + 2);
      expect(largeMs).toBeLessThan(1_000);
    }
  });

  it('follows a rule reload: a pattern added to SECRET_IN_WRITTEN_CONTENT redacts from the next batch', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'edr-redaction-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const file = join(directory, 'secrets.yaml');
    const rule = (patterns: string[]) =>
      JSON.stringify({
        rules: [
          {
            id: 'SECRET_IN_WRITTEN_CONTENT',
            name: 'n',
            severity: 'high',
            type: 'match',
            condition: { fact: 'data.content', operator: 'regex', value: patterns },
            summary: 's',
          },
        ],
      });
    await writeFile(file, rule(['AKIA[0-9A-Z]{16}']));
    const r = redactor({ patterns: {} });
    const first = loadRules([directory]);
    if (!first.ok) throw new Error(JSON.stringify(first.error));
    const batch = () => events(makeEnvelope({ data: { content: 'token zz-0123456789' } }));
    expect(r.redact(batch(), first.value).events[0]!.data.content).toBe('token zz-0123456789');
    expect(r.detectorNames()).toEqual(['SECRET_IN_WRITTEN_CONTENT#0']);
    await writeFile(file, rule(['AKIA[0-9A-Z]{16}', 'zz-[0-9]{10}']));
    const second = loadRules([directory]);
    if (!second.ok) throw new Error(JSON.stringify(second.error));
    expect(r.redact(batch(), second.value).events[0]!.data.content).toMatch(
      /^token \[REDACTED:SECRET_IN_WRITTEN_CONTENT#1:/,
    );
  });

  it('passes everything through when disabled', () => {
    const event = makeEnvelope({ data: { content: AWS_KEY_ID } });
    const out = redactor({ enabled: false }).redact(events(event));
    expect(out.events[0]).toBe(event);
  });

  it('refuses a configured pattern RE2 cannot run, naming the detector', () => {
    expect(() => redactor({ patterns: { 'back-ref': '(a)\\1' } })).toThrow(
      /redaction: detector back-ref "\(a\)\\\\1": uses a backreference/,
    );
    expect(() => redactor({ detectorRules: ['NO_SUCH_RULE'] })).toThrow(
      /redaction.detectorRules: no rule NO_SUCH_RULE/,
    );
  });
});

describe('loadRedactionKey', () => {
  it('generates a key file once (mode 0600) and reads it afterwards; redaction.key wins', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'edr-redaction-key-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const config: RedactionConfig = RedactionConfigSchema.parse({ keyFile: join(directory, 'sub', 'key') });
    const first = loadRedactionKey(config);
    expect(first.origin).toBe('generated');
    const { statSync } = await import('node:fs');
    expect(statSync(config.keyFile).mode & 0o777).toBe(0o600);
    const again = loadRedactionKey(config);
    expect(again).toMatchObject({ origin: 'saved' });
    expect(again.key.equals(first.key)).toBe(true);
    expect(loadRedactionKey({ ...config, key: 'configured-key-0123456789' }).origin).toBe('config');
  });
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
