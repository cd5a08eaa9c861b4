import { describe, expect, it } from 'vitest';
import { packagePath } from '../../core/package-path.ts';
import { loadFrameworks } from './load.ts';
import { checkFrameworkTags, type Frameworks } from './tags.ts';

function bundled(): Frameworks {
  const loaded = loadFrameworks(packagePath('frameworks'));
  if (!loaded.ok) throw new Error(loaded.error.join('\n'));
  return loaded.value;
}

const frameworks = bundled();

describe('checkFrameworkTags', () => {
  it('accepts current ATLAS and ATT&CK tactics, techniques and sub-techniques, and ignores free tags', () => {
    const tags = [
      'atlas:AML.T0053',
      'atlas:AML.T0051.001',
      'atlas:AML.TA0005',
      'attack:T1059.004',
      'attack:TA0002',
      'team:payments',
    ];
    expect(checkFrameworkTags(tags, frameworks)).toEqual([]);
  });

  it('refuses an id ATLAS does not have, and a malformed one', () => {
    const findings = checkFrameworkTags(['atlas:AML.T9999', 'atlas:T0053', 'attack:T12'], frameworks);
    expect(findings.map((f) => [f.index, f.level])).toEqual([
      [0, 'error'],
      [1, 'error'],
      [2, 'error'],
    ]);
    expect(findings[0]!.message).toBe('AML.T9999 is not a tactic or technique of MITRE ATLAS 5.5.0');
  });

  it('refuses a revoked ATT&CK id and names its replacement', () => {
    const [finding] = checkFrameworkTags(['attack:T1145'], frameworks);
    expect(finding).toMatchObject({ level: 'error', index: 0 });
    expect(finding!.message).toBe(
      'T1145 (Private Keys) is revoked in MITRE ATT&CK Enterprise 18.0; use T1552.004 (Private Keys)',
    );
  });

  it('warns on a deprecated ATT&CK id, with its replacement; refuses an id ATT&CK does not have', () => {
    const findings = checkFrameworkTags(['attack:T1064', 'attack:T1999', 'attack:T1190'], frameworks);
    expect(findings.map((f) => f.level)).toEqual(['warning', 'error']);
    expect(findings[0]!.message).toMatch(
      /T1064 \(Scripting\) is deprecated .*; use T1059 \(Command and Scripting Interpreter\)/,
    );
    expect(findings[1]!.message).toBe('T1999 is not a tactic or technique of MITRE ATT&CK Enterprise 18.0');
  });

  it('accepts the ATT&CK group, software, mitigation, data-source and campaign ids Sigma rules carry', () => {
    const tags = ['attack:G0016', 'attack:S0002', 'attack:M1042', 'attack:DS0009', 'attack:C0010'];
    expect(checkFrameworkTags(tags, frameworks)).toEqual([]);
    expect(checkFrameworkTags(['attack:G16', 'attack:X0016'], frameworks).map((f) => f.level)).toEqual([
      'error',
      'error',
    ]);
  });

  it('checks Sigma tags once converted to this form (attack.t1552.004 -> attack:T1552.004)', () => {
    const converted = ['attack.t1552.004', 'attack.t1145'].map((tag) =>
      tag.replace(/^attack\.t/, 'attack:T'),
    );
    expect(checkFrameworkTags(converted, frameworks).map((f) => f.tag)).toEqual(['attack:T1145']);
  });
});

describe('framework data', () => {
  for (const name of ['atlas', 'attack'] as const) {
    it(`${name}: parents, tactics and replacements all resolve`, () => {
      const { framework, techniques, tactics } = frameworks[name];
      for (const technique of framework.techniques) {
        if (technique.subtechniqueOf)
          expect(techniques.has(technique.subtechniqueOf), technique.id).toBe(true);
        for (const tactic of technique.tactics)
          expect(tactics.has(tactic), `${technique.id} ${tactic}`).toBe(true);
      }
      for (const entry of framework.revoked) expect(techniques.has(entry.revokedBy), entry.id).toBe(true);
      for (const entry of framework.deprecated)
        if (entry.replacement) expect(techniques.has(entry.replacement), entry.id).toBe(true);
      expect(new Set(framework.techniques.map((t) => t.id)).size).toBe(framework.techniques.length);
    });
  }

  it('ATT&CK Enterprise 18.0: 14 tactics, 691 current techniques (216 top-level), none revoked or deprecated', () => {
    const { framework, techniques } = frameworks.attack;
    expect(framework.tactics).toHaveLength(14);
    expect(framework.techniques).toHaveLength(691);
    expect(framework.techniques.filter((t) => !t.subtechniqueOf)).toHaveLength(216);
    for (const entry of [...framework.revoked, ...framework.deprecated])
      expect(techniques.has(entry.id)).toBe(false);
  });

  it('ATLAS 5.5.0 has the counts its changelog implies: 16 tactics, 101 techniques, 66 sub-techniques', () => {
    const { framework } = frameworks.atlas;
    expect(framework.tactics).toHaveLength(16);
    expect(framework.techniques.filter((t) => !t.subtechniqueOf)).toHaveLength(101);
    expect(framework.techniques.filter((t) => t.subtechniqueOf)).toHaveLength(66);
  });
});
