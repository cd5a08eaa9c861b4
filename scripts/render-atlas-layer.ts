// Draws docs/navigator/atlas-layer.json as docs/atlas-coverage.svg for README:
// `npx tsx scripts/render-atlas-layer.ts` (after `rules coverage --navigator docs/navigator`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Layer } from '../cli/lib/navigator.ts';
import { loadFrameworks } from '../engine/index.ts';
import { renderLayerSvg } from './layer-svg.ts';

const root = join(import.meta.dirname, '..');
const frameworks = loadFrameworks(join(root, 'frameworks'));
if (!frameworks.ok) throw new Error(frameworks.error.join('\n'));
const layer = JSON.parse(readFileSync(join(root, 'docs', 'navigator', 'atlas-layer.json'), 'utf8')) as Layer;
writeFileSync(join(root, 'docs', 'atlas-coverage.svg'), renderLayerSvg(layer, frameworks.value.atlas));
console.log('wrote docs/atlas-coverage.svg');
