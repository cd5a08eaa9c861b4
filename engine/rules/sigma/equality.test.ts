import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseAlerts, RuleCaseSchema } from '../../../cli/lib/rule-cases.ts';
import { packagePath } from '../../../core/package-path.ts';
import type { Alert } from '../../alert.ts';
import { listFiles, readStructured } from '../../data-file.ts';
import { loadRules } from '../load.ts';
import { selectRules } from '../ruleset.ts';

/**
 * The four reference rules written in Sigma (rules/sigma/) against ours, on every fixture corpus: the same
 * alerts, field for field, except the rule's id and name (and the alert id, which hashes the rule id).
 */
const CASES = packagePath('fixtures', 'rules');

function comparable(alert: Alert, ruleIdOf: (id: string) => string) {
  const { alertId: _alertId, ruleName: _ruleName, ruleId, ...rest } = alert;
  return { ruleId: ruleIdOf(ruleId), ...rest };
}

const cases = readdirSync(CASES)
  .filter((name) => statSync(join(CASES, name)).isDirectory())
  .flatMap((directory) => listFiles(join(CASES, directory), ['.json', '.yaml', '.yml']))
  .map((file) => {
    const content = readStructured(file);
    return {
      name: `${basename(join(file, '..'))}/${basename(file)}`,
      parsed: RuleCaseSchema.parse(content.ok ? content.value : undefined),
    };
  });

describe('the reference rules in Sigma', () => {
  const bundled = loadRules([packagePath('rules')]);
  if (!bundled.ok) throw new Error(JSON.stringify(bundled.error));
  const loaded = loadRules([packagePath('rules')], undefined, { enable: new Set(bundled.value.disabled) });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  // clawdstrike.copyOf names the rule of ours each Sigma copy restates.
  const SIGMA_COPIES = Object.fromEntries(
    loaded.value.rules.flatMap((rule) => (rule.sigma?.copyOf ? [[rule.sigma.copyOf, rule.id]] : [])),
  ) as Record<string, string>;
  const ours = selectRules(loaded.value, new Set(Object.keys(SIGMA_COPIES)));
  const sigma = selectRules(loaded.value, new Set(Object.values(SIGMA_COPIES)));
  const ourIdOf = (id: string) => Object.keys(SIGMA_COPIES).find((key) => SIGMA_COPIES[key] === id) ?? id;

  it('restate the four reference rules', () => {
    expect(Object.keys(SIGMA_COPIES).sort()).toEqual([
      'CREDENTIAL_EXFILTRATION',
      'LATERAL_MOVEMENT_PREP',
      'PROMPT_INJECTION_CHAIN',
      'RAPID_FILE_ENUMERATION',
    ]);
  });

  it('are off by default, so an attack does not alert twice', () => {
    expect(bundled.value.disabled).toEqual(expect.arrayContaining(Object.values(SIGMA_COPIES)));
    expect(sigma.rules.map((rule) => rule.id).sort()).toEqual(Object.values(SIGMA_COPIES).sort());
  });

  it.each(cases)('give the alerts ours give on $name', ({ parsed }) => {
    const expected = caseAlerts(parsed, ours);
    const actual = caseAlerts(parsed, sigma);
    expect(actual.failures).toEqual(expected.failures);
    expect(actual.alerts.map((alert) => comparable(alert, ourIdOf))).toEqual(
      expected.alerts.map((alert) => comparable(alert, (id) => id)),
    );
  });

  it('are compared on corpora where ours alert', () => {
    const alerting = cases.filter(({ parsed }) => caseAlerts(parsed, ours).alerts.length > 0);
    const ruleIds = new Set(
      alerting.flatMap(({ parsed }) => caseAlerts(parsed, ours).alerts.map((a) => a.ruleId)),
    );
    expect([...ruleIds].sort()).toEqual(Object.keys(SIGMA_COPIES).sort());
  });

  it('keep falsepositives and references on the rule', () => {
    const rule = sigma.rules.find((candidate) => candidate.id === SIGMA_COPIES.CREDENTIAL_EXFILTRATION);
    expect(rule?.sigma?.falsepositives).toHaveLength(1);
    expect(rule?.tags).toEqual(
      ours.rules.find((candidate) => candidate.id === 'CREDENTIAL_EXFILTRATION')?.tags,
    );
  });
});
