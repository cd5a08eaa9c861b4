import type { Framework, FrameworkName, Technique } from './schema.ts';

/**
 * Rule tags name framework ids as `atlas:AML.T0053` or `attack:T1059.004` (tactics too: `attack:TA0002`,
 * `atlas:AML.TA0005`). Other tags are free text and not judged here. Sigma tags (`attack.t1552.004`) are
 * checked once converted to this form.
 */
const TAG_PATTERN: Record<FrameworkName, RegExp> = {
  atlas: /^AML\.(?:TA\d{4}|T\d{4}(?:\.\d{3})?)$/,
  attack: /^(?:TA\d{4}|T\d{4}(?:\.\d{3})?)$/,
};

/**
 * ATT&CK ids of other kinds (groups, software, mitigations, data sources, campaigns), which SigmaHQ rules tag
 * (`attack.g0016`, `attack.s0002`): accepted as they are, since the framework data holds tactics and
 * techniques only.
 */
const OTHER_ATTACK_OBJECT = /^(?:G|S|M|DS|C)\d{4}$/;

export interface FrameworkTag {
  framework: FrameworkName;
  id: string;
}

/** The framework and id a tag names, or undefined for a tag outside both frameworks. */
export function parseFrameworkTag(tag: string): FrameworkTag | undefined {
  const colon = tag.indexOf(':');
  const prefix = tag.slice(0, colon);
  if (prefix !== 'atlas' && prefix !== 'attack') return undefined;
  return { framework: prefix, id: tag.slice(colon + 1) };
}

export interface TagFinding {
  tag: string;
  /** Index of the tag in the list checked. */
  index: number;
  level: 'error' | 'warning';
  message: string;
}

/** A framework indexed for lookups by id. */
export interface FrameworkIndex {
  framework: Framework;
  tactics: Map<string, string>;
  techniques: Map<string, Technique>;
  revoked: Map<string, Framework['revoked'][number]>;
  deprecated: Map<string, Framework['deprecated'][number]>;
}

export function indexFramework(framework: Framework): FrameworkIndex {
  return {
    framework,
    tactics: new Map(framework.tactics.map((tactic) => [tactic.id, tactic.name])),
    techniques: new Map(framework.techniques.map((technique) => [technique.id, technique])),
    revoked: new Map(framework.revoked.map((entry) => [entry.id, entry])),
    deprecated: new Map(framework.deprecated.map((entry) => [entry.id, entry])),
  };
}

export type Frameworks = Record<FrameworkName, FrameworkIndex>;

function describe(index: FrameworkIndex, id: string): string {
  const name = index.techniques.get(id)?.name ?? index.tactics.get(id);
  return name ? `${id} (${name})` : id;
}

function judge(
  tag: string,
  index: number,
  parsed: FrameworkTag,
  frameworks: Frameworks,
): TagFinding | undefined {
  const framework = frameworks[parsed.framework];
  const label = `${framework.framework.name} ${framework.framework.version}`;
  const { id } = parsed;
  if (parsed.framework === 'attack' && OTHER_ATTACK_OBJECT.test(id)) return undefined;
  if (!TAG_PATTERN[parsed.framework].test(id)) {
    return { tag, index, level: 'error', message: `"${tag}" is not a ${label} tactic or technique id` };
  }
  const revoked = framework.revoked.get(id);
  if (revoked) {
    return {
      tag,
      index,
      level: 'error',
      message: `${id} (${revoked.name}) is revoked in ${label}; use ${describe(framework, revoked.revokedBy)}`,
    };
  }
  const deprecated = framework.deprecated.get(id);
  if (deprecated) {
    const instead = deprecated.replacement ? `; use ${describe(framework, deprecated.replacement)}` : '';
    return {
      tag,
      index,
      level: 'warning',
      message: `${id} (${deprecated.name}) is deprecated in ${label}${instead}`,
    };
  }
  if (framework.tactics.has(id) || framework.techniques.has(id)) return undefined;
  return { tag, index, level: 'error', message: `${id} is not a tactic or technique of ${label}` };
}

/**
 * Checks the framework ids among `tags`: an id the framework does not have, a malformed id and a revoked id
 * are errors; a deprecated id is a warning naming its replacement when there is one.
 */
export function checkFrameworkTags(tags: readonly string[], frameworks: Frameworks): TagFinding[] {
  const findings: TagFinding[] = [];
  tags.forEach((tag, index) => {
    const parsed = parseFrameworkTag(tag);
    const finding = parsed && judge(tag, index, parsed, frameworks);
    if (finding) findings.push(finding);
  });
  return findings;
}
