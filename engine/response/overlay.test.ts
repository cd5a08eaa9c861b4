import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SUGGESTION_LIMITS } from './limits.ts';
import { mergeOverlays, overlayOf, PolicyOverlaySchema, type SuggestedChange } from './overlay.ts';
import { ClawdstrikePolicySchema } from './policy-schema.ts';
import { egressHost, forbiddenPathPattern, policyReference, toolName } from './values.ts';
import { parseOverlaysYaml, renderOverlayYaml } from './yaml.ts';

describe('suggested values from hostile telemetry', () => {
  it('keeps real hosts, lowercased, and refuses anything a glob could read as a wildcard', () => {
    expect(egressHost('Evil.Example.')).toBe('evil.example');
    expect(egressHost('203.0.113.7')).toBe('203.0.113.7');
    expect(egressHost('2001:db8::1')).toBe('2001:db8::1');
    for (const hostile of [
      '*',
      '*.com',
      'a?.com',
      'a[b].com',
      '{a,b}.com',
      'a b',
      'a\n.com',
      '',
      'x'.repeat(300),
    ]) {
      expect(egressHost(hostile), hostile).toBeUndefined();
    }
    expect(egressHost(42)).toBeUndefined();
  });

  it('takes tool names literally and refuses wildcard and control characters', () => {
    expect(toolName('mcp__blender__execute_blender_code')).toBe('mcp__blender__execute_blender_code');
    for (const hostile of ['*', 'shell_*', 'a\u2028b', 'a\u0000', '', 'x'.repeat(257)]) {
      expect(toolName(hostile), hostile).toBeUndefined();
    }
  });

  it('escapes glob metacharacters of a path so the pattern forbids that path only', () => {
    expect(forbiddenPathPattern('/etc/sudoers.d/90-agent')).toBe('/etc/sudoers.d/90-agent');
    expect(forbiddenPathPattern('/tmp/*')).toBe('/tmp/[*]');
    expect(forbiddenPathPattern('/srv/[a]?/x]')).toBe('/srv/[[]a[]][?]/x[]]');
    expect(forbiddenPathPattern('/work/../home/u/./.ssh//id_rsa')).toBe('/home/u/.ssh/id_rsa');
    expect(forbiddenPathPattern('C:\\Users\\u\\.aws\\credentials')).toBe('**/C:/Users/u/.aws/credentials');
    expect(forbiddenPathPattern('~/.config/app/token')).toBe('**/.config/app/token');
    expect(forbiddenPathPattern('src/.env')).toBe('**/src/.env');
    for (const refused of ['/', '/..', '../x', '', '/a\nb', 'x'.repeat(SUGGESTION_LIMITS.maxPathChars + 1)]) {
      expect(forbiddenPathPattern(refused), refused).toBeUndefined();
    }
  });

  it('extends the policy by name when the inventory names it, else by the events hash', () => {
    expect(policyReference('clawdstrike:default', 'ab'.repeat(32))).toBe('clawdstrike:default');
    expect(policyReference(undefined, 'ab'.repeat(32))).toBe('ab'.repeat(32));
    expect(policyReference('has space', 'not-hex')).toBeUndefined();
  });
});

const change = fc.oneof(
  fc.record({ kind: fc.constant('egress_block' as const), value: fc.domain() }),
  fc.record({ kind: fc.constant('mcp_block' as const), value: fc.stringMatching(/^[a-z_]{1,20}$/) }),
  fc.record({
    kind: fc.constant('forbidden_pattern' as const),
    value: fc.stringMatching(/^\/[a-z/.]{1,30}$/),
  }),
  fc.record({
    kind: fc.constant('quarantine' as const),
    on: fc.constantFrom('critical_violation' as const, 'any_violation' as const),
  }),
);

describe('overlays', () => {
  it('are valid upstream policies, the same bytes for the same changes in any order, and survive YAML', () => {
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 20 }), (changes: SuggestedChange[]) => {
        const built = overlayOf(changes, 'clawdstrike:default')!;
        expect(ClawdstrikePolicySchema.safeParse(built.overlay).success).toBe(true);
        expect(PolicyOverlaySchema.safeParse(built.overlay).success).toBe(true);
        const reversed = overlayOf([...changes].reverse(), 'clawdstrike:default')!;
        expect(renderOverlayYaml(reversed.overlay)).toBe(renderOverlayYaml(built.overlay));
        expect(JSON.stringify(reversed.overlay)).toBe(JSON.stringify(built.overlay));
        expect(parseOverlaysYaml(renderOverlayYaml(built.overlay)).overlays).toEqual([built.overlay]);
      }),
    );
  });

  it('quote every string a YAML 1.1 or 1.2 reader could take for something else', () => {
    const values = ['yes', 'no', 'on', 'off', '1.2', '0x1f', '2026-03-02', '~', 'null', 'a: b', '- x', '#c'];
    const built = overlayOf(
      values.map((value) => ({ kind: 'mcp_block' as const, value })),
      undefined,
    )!;
    const text = renderOverlayYaml(built.overlay);
    for (const version of ['1.1', '1.2'] as const) {
      expect(parse(text, { version }).guards.mcp_tool.additional_block).toEqual([...values].sort());
    }
    // The posture's `on` key too: YAML 1.1 reads a plain `on` as true.
    const posture = renderOverlayYaml(
      overlayOf([{ kind: 'quarantine', on: 'any_violation' }], undefined)!.overlay,
    );
    expect(parse(posture, { version: '1.1' }).posture.transitions).toEqual([
      { from: '*', to: 'quarantine', on: 'any_violation' },
    ]);
  });

  it('merge per policy reference, sorted and deduplicated, whatever the order', () => {
    const one = overlayOf([{ kind: 'egress_block', value: 'b.example' }], 'p')!.overlay;
    const two = overlayOf(
      [
        { kind: 'egress_block', value: 'a.example' },
        { kind: 'egress_block', value: 'b.example' },
      ],
      'p',
    )!.overlay;
    const other = overlayOf([{ kind: 'mcp_block', value: 'exec' }], 'q')!.overlay;
    const merged = mergeOverlays([other, one, two]);
    expect(merged.map((built) => built.overlay)).toEqual([
      {
        version: '1.2.0',
        extends: 'p',
        merge_strategy: 'deep_merge',
        guards: { egress_allowlist: { additional_block: ['a.example', 'b.example'] } },
      },
      {
        version: '1.2.0',
        extends: 'q',
        merge_strategy: 'deep_merge',
        guards: { mcp_tool: { additional_block: ['exec'] } },
      },
    ]);
    expect(JSON.stringify(mergeOverlays([two, one, other]))).toBe(JSON.stringify(merged));
  });

  it('keep at most maxEntriesPerList entries per list and count the ones cut (a flood of hosts)', () => {
    const max = SUGGESTION_LIMITS.maxEntriesPerList;
    const flood = Array.from(
      { length: max + 50 },
      (_, i) =>
        overlayOf([{ kind: 'egress_block', value: `h${String(i).padStart(4, '0')}.example` }], 'p')!.overlay,
    );
    const [merged] = mergeOverlays(flood);
    expect(merged!.overlay.guards?.egress_allowlist?.additional_block).toHaveLength(max);
    expect(merged!.dropped).toBe(50);
    expect(PolicyOverlaySchema.safeParse(merged!.overlay).success).toBe(true);
  });

  it('refuse, as upstream does, unknown fields and version-gated ones', () => {
    const base = { version: '1.2.0', merge_strategy: 'deep_merge' };
    expect(
      ClawdstrikePolicySchema.safeParse({ ...base, guards: { egress_allowlist: { blok: [] } } }).success,
    ).toBe(false);
    expect(ClawdstrikePolicySchema.safeParse({ ...base, surprise: true }).success).toBe(false);
    const posture = { initial: 'work', states: { work: {} } };
    expect(ClawdstrikePolicySchema.safeParse({ ...base, posture }).success).toBe(true);
    expect(ClawdstrikePolicySchema.safeParse({ ...base, version: '1.1.0', posture }).success).toBe(false);
    const timeout = { ...posture, transitions: [{ from: '*', to: 'work', on: 'timeout' }] };
    expect(ClawdstrikePolicySchema.safeParse({ ...base, posture: timeout }).success).toBe(false);
    expect(
      PolicyOverlaySchema.safeParse({ ...base, guards: { egress_allowlist: { allow: ['x'] } } }).success,
    ).toBe(false);
  });
});
