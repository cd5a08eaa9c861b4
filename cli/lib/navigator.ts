import type { FrameworkName, Frameworks } from '../../engine/index.ts';
import { type CoverageRow, hasBothFixtures } from './coverage.ts';

/**
 * ATT&CK Navigator layer files, format 4.5 (mitre-attack/attack-navigator layers/spec/v4.5/layerformat.md):
 * one technique entry per (technique, tactic), scored 2 when a rule with a positive and a near-miss case
 * detects it and 1 when only rules without both do; the comment lists the rule ids.
 */
export const LAYER_FORMAT = { layer: '4.5', navigator: '5.2.0' } as const;

/** The Navigator's domain names: ATT&CK's own, and the one the ATLAS Navigator data uses. */
const DOMAIN: Record<FrameworkName, string> = { attack: 'enterprise-attack', atlas: 'atlas-atlas' };

export const SCORE = { withFixtures: 2, withoutFixtures: 1 } as const;

interface LayerTechnique {
  techniqueID: string;
  tactic: string;
  score: number;
  comment: string;
  enabled: boolean;
  showSubtechniques: boolean;
  metadata: Array<{ name: string; value: string }>;
}

export interface Layer {
  name: string;
  versions: { attack?: string; navigator: string; layer: string };
  domain: string;
  description: string;
  sorting: number;
  layout: {
    layout: 'side' | 'flat' | 'mini';
    showID: boolean;
    showName: boolean;
    expandedSubtechniques: 'none' | 'all' | 'annotated';
  };
  hideDisabled: boolean;
  techniques: LayerTechnique[];
  gradient: { colors: string[]; minValue: number; maxValue: number };
  legendItems: Array<{ label: string; color: string }>;
  metadata: Array<{ name: string; value: string }>;
}

export const LAYER_COLORS = { withFixtures: '#8ec843', withoutFixtures: '#ffe766', none: '#ffffff' } as const;

/** The Navigator's tactic key: the tactic name in lower case, words joined by hyphens ("command-and-control"). */
export function tacticShortName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

function fixtureNote(rule: CoverageRow['rules'][number]): string {
  const kinds = [rule.fixtures.positive && 'positive', rule.fixtures.nearMiss && 'near-miss'].filter(Boolean);
  return `${rule.id} (${kinds.length > 0 ? kinds.join(' + ') : 'no fixture cases'})`;
}

export function buildLayer(
  framework: FrameworkName,
  rows: readonly CoverageRow[],
  frameworks: Frameworks,
): Layer {
  const data = frameworks[framework].framework;
  const mine = rows.filter((row) => row.framework === framework);
  const parents = new Set(mine.map((row) => row.technique.subtechniqueOf).filter((id) => id !== undefined));
  return {
    name: `Clawdstrike EDR starter rules: ${data.name} coverage`,
    versions: { ...(framework === 'attack' ? { attack: data.version.split('.')[0] } : {}), ...LAYER_FORMAT },
    domain: DOMAIN[framework],
    description: `Techniques the bundled rules detect, from their tags. Score ${SCORE.withFixtures}: detected by a rule with a positive and a near-miss fixture case; ${SCORE.withoutFixtures}: only by rules without both. ${data.name} ${data.version} (${data.date}).`,
    sorting: 0,
    layout: { layout: 'side', showID: true, showName: true, expandedSubtechniques: 'annotated' },
    hideDisabled: false,
    techniques: mine.map((row) => ({
      techniqueID: row.technique.id,
      tactic: tacticShortName(row.tactic.name),
      score: row.rules.some(hasBothFixtures) ? SCORE.withFixtures : SCORE.withoutFixtures,
      comment: row.rules.map(fixtureNote).join('; '),
      enabled: true,
      showSubtechniques: parents.has(row.technique.id),
      metadata: row.rules.map((rule) => ({ name: 'rule', value: rule.id })),
    })),
    gradient: {
      colors: [LAYER_COLORS.none, LAYER_COLORS.withoutFixtures, LAYER_COLORS.withFixtures],
      minValue: 0,
      maxValue: SCORE.withFixtures,
    },
    legendItems: [
      { label: 'covered, with positive and near-miss fixtures', color: LAYER_COLORS.withFixtures },
      { label: 'covered, without both fixtures', color: LAYER_COLORS.withoutFixtures },
    ],
    metadata: [
      { name: 'framework', value: `${data.name} ${data.version}` },
      { name: 'source', value: Object.values(data.source).slice(0, 2).join(' ') },
    ],
  };
}
