import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../core/package-path.ts';
import { renderLayerSvg } from '../../scripts/layer-svg.ts';
import { bundledCoverage } from '../../test/support/coverage.ts';
import { NAVIGATOR_FILES } from '../commands/rules.ts';
import type { Coverage } from './coverage.ts';
import { buildLayer, LAYER_COLORS, SCORE } from './navigator.ts';

/**
 * The layer format's documented fields (mitre-attack/attack-navigator layers/spec/v4.5/layerformat.md),
 * written independently of buildLayer: required fields, types, and the values the spec enumerates. Extra
 * properties are refused so a misspelt field fails.
 */
const metadataItem = {
  oneOf: [
    {
      type: 'object',
      required: ['name', 'value'],
      additionalProperties: false,
      properties: { name: { type: 'string' }, value: { type: 'string' } },
    },
    {
      type: 'object',
      required: ['divider'],
      additionalProperties: false,
      properties: { divider: { type: 'boolean' } },
    },
  ],
};
const LAYER_SCHEMA = {
  type: 'object',
  required: ['name', 'domain', 'versions'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    domain: { enum: ['enterprise-attack', 'mobile-attack', 'ics-attack', 'atlas-atlas'] },
    versions: {
      type: 'object',
      required: ['navigator', 'layer'],
      additionalProperties: false,
      properties: { attack: { type: 'string' }, navigator: { type: 'string' }, layer: { const: '4.5' } },
    },
    customDataURL: { type: 'string' },
    filters: { type: 'object', properties: { platforms: { type: 'array', items: { type: 'string' } } } },
    sorting: { enum: [0, 1, 2, 3] },
    layout: {
      type: 'object',
      additionalProperties: false,
      properties: {
        layout: { enum: ['side', 'flat', 'mini'] },
        showID: { type: 'boolean' },
        showName: { type: 'boolean' },
        showAggregateScores: { type: 'boolean' },
        countUnscored: { type: 'boolean' },
        aggregateFunction: { enum: ['average', 'min', 'max', 'sum'] },
        expandedSubtechniques: { enum: ['none', 'all', 'annotated'] },
      },
    },
    hideDisabled: { type: 'boolean' },
    techniques: {
      type: 'array',
      items: {
        type: 'object',
        required: ['techniqueID'],
        additionalProperties: false,
        properties: {
          techniqueID: { type: 'string', pattern: '^(?:AML\\.)?T\\d{4}(?:\\.\\d{3})?$' },
          tactic: { type: 'string', pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$' },
          comment: { type: 'string' },
          enabled: { type: 'boolean' },
          score: { type: 'number' },
          color: { type: 'string' },
          metadata: { type: 'array', items: metadataItem },
          links: { type: 'array' },
          showSubtechniques: { type: 'boolean' },
        },
      },
    },
    gradient: {
      type: 'object',
      required: ['colors', 'minValue', 'maxValue'],
      additionalProperties: false,
      properties: {
        colors: { type: 'array', minItems: 2, items: { type: 'string', pattern: '^#[0-9a-fA-F]{6}$' } },
        minValue: { type: 'number' },
        maxValue: { type: 'number' },
      },
    },
    legendItems: {
      type: 'array',
      items: {
        type: 'object',
        required: ['label', 'color'],
        additionalProperties: false,
        properties: { label: { type: 'string' }, color: { type: 'string' } },
      },
    },
    showTacticRowBackground: { type: 'boolean' },
    tacticRowBackground: { type: 'string' },
    selectTechniquesAcrossTactics: { type: 'boolean' },
    selectSubtechniquesWithParent: { type: 'boolean' },
    selectVisibleTechniques: { type: 'boolean' },
    metadata: { type: 'array', items: metadataItem },
    links: { type: 'array' },
  },
} as const;

const validateLayer = new Ajv({ allErrors: true }).compile(LAYER_SCHEMA);

let coverage: Coverage;
beforeAll(() => {
  coverage = bundledCoverage();
});

describe('Navigator layers', () => {
  for (const framework of ['atlas', 'attack'] as const) {
    it(`${framework}: valid against the documented layer format 4.5, gradient covering the scores`, () => {
      const layer = buildLayer(framework, coverage.rows, coverage.frameworks);
      expect(validateLayer(layer), JSON.stringify(validateLayer.errors)).toBe(true);
      expect(layer.gradient.maxValue).toBeGreaterThan(layer.gradient.minValue);
      for (const technique of layer.techniques) {
        expect(technique.score).toBeGreaterThanOrEqual(layer.gradient.minValue);
        expect(technique.score).toBeLessThanOrEqual(layer.gradient.maxValue);
      }
    });

    it(`${framework}: one entry per covered (technique, tactic); the comment names every detecting rule`, () => {
      const layer = buildLayer(framework, coverage.rows, coverage.frameworks);
      const rows = coverage.rows.filter((row) => row.framework === framework);
      expect(layer.techniques).toHaveLength(rows.length);
      rows.forEach((row, i) => {
        const entry = layer.techniques[i]!;
        expect(entry.techniqueID).toBe(row.technique.id);
        for (const rule of row.rules) expect(entry.comment).toContain(rule.id);
        const withFixtures = row.rules.some((rule) => rule.fixtures.positive && rule.fixtures.nearMiss);
        expect(entry.score).toBe(withFixtures ? SCORE.withFixtures : SCORE.withoutFixtures);
      });
    });

    it(`${framework}: the committed layer in docs/navigator/ is current (rules coverage --navigator docs/navigator)`, () => {
      const committed = readFileSync(packagePath('docs', 'navigator', NAVIGATOR_FILES[framework]), 'utf8');
      expect(JSON.parse(committed)).toEqual(buildLayer(framework, coverage.rows, coverage.frameworks));
    });
  }

  it('the schema refuses what the format does not allow (a control for the checks above)', () => {
    const layer = buildLayer('atlas', coverage.rows, coverage.frameworks);
    const [first] = layer.techniques;
    expect(validateLayer({ ...layer, versions: { ...layer.versions, layer: '4.4' } })).toBe(false);
    expect(validateLayer({ ...layer, domain: 'atlas' })).toBe(false);
    expect(validateLayer({ ...layer, techniques: [{ ...first, techniqueId: first!.techniqueID }] })).toBe(
      false,
    );
    expect(validateLayer({ ...layer, gradient: { ...layer.gradient, colors: ['#fff'] } })).toBe(false);
  });

  it('scores a rule without both fixture cases lower', () => {
    const rows = coverage.rows.map((row) => ({
      ...row,
      rules: row.rules.map((rule) => ({ ...rule, fixtures: { positive: true, nearMiss: false } })),
    }));
    const layer = buildLayer('atlas', rows, coverage.frameworks);
    expect(validateLayer(layer)).toBe(true);
    expect(new Set(layer.techniques.map((t) => t.score))).toEqual(new Set([SCORE.withoutFixtures]));
    expect(layer.techniques[0]!.comment).toMatch(/\(positive\)/);
  });

  it('README picture: docs/atlas-coverage.svg is the committed ATLAS layer drawn (npx tsx scripts/render-atlas-layer.ts)', () => {
    const layer = buildLayer('atlas', coverage.rows, coverage.frameworks);
    const svg = renderLayerSvg(layer, coverage.frameworks.atlas);
    expect(readFileSync(packagePath('docs', 'atlas-coverage.svg'), 'utf8')).toBe(svg);
    // One filled cell per layer entry: every covered (technique, tactic) appears, in its score's colour.
    const filled = svg.match(
      new RegExp(`<rect [^>]*fill="${LAYER_COLORS.withFixtures}" stroke="#aaaaaa" stroke-width`, 'g'),
    );
    expect(filled).toHaveLength(layer.techniques.filter((t) => t.score === SCORE.withFixtures).length);
    expect(svg).toContain('>Exfiltration</text>');
  });
});
