import { LAYER_COLORS, type Layer, tacticShortName } from '../cli/lib/navigator.ts';
import type { FrameworkIndex } from '../engine/index.ts';

/**
 * A Navigator layer drawn as an SVG heat map, in the Navigator's side layout: one column per tactic, one
 * cell per top-level technique (covered sub-techniques indented under their parent), each filled with its
 * score's colour from the layer's gradient. Written for README, from the committed layer file.
 */
const CELL = { width: 168, height: 30, gap: 4, indent: 12, header: 44, margin: 16, legend: 40 };
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Up to two lines of at most `width` characters, the second cut with an ellipsis. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [''];
  for (const word of text.split(' ')) {
    const current = lines[lines.length - 1]!;
    if (current.length === 0) lines[lines.length - 1] = word;
    else if (current.length + 1 + word.length <= width) lines[lines.length - 1] = `${current} ${word}`;
    else lines.push(word);
  }
  if (lines.length <= 2) return lines;
  const second = lines.slice(1).join(' ');
  return [lines[0]!, `${second.slice(0, width - 1)}…`];
}

function colorFor(score: number | undefined, layer: Layer): string {
  if (score === undefined) return LAYER_COLORS.none;
  const { colors, minValue, maxValue } = layer.gradient;
  const step = (score - minValue) / (maxValue - minValue);
  return colors[Math.round(step * (colors.length - 1))] ?? LAYER_COLORS.none;
}

export function renderLayerSvg(layer: Layer, framework: FrameworkIndex): string {
  const scores = new Map<string, number>();
  for (const entry of layer.techniques) scores.set(`${entry.techniqueID}|${entry.tactic}`, entry.score);
  const techniques = [...framework.techniques.values()].sort((a, b) => a.name.localeCompare(b.name));
  const columns = framework.framework.tactics.map((tactic) => {
    const key = tacticShortName(tactic.name);
    const cells: Array<{ id: string; name: string; score: number | undefined; sub: boolean }> = [];
    for (const technique of techniques) {
      if (technique.subtechniqueOf || !technique.tactics.includes(tactic.id)) continue;
      cells.push({
        id: technique.id,
        name: technique.name,
        score: scores.get(`${technique.id}|${key}`),
        sub: false,
      });
      for (const sub of techniques) {
        const score = scores.get(`${sub.id}|${key}`);
        if (sub.subtechniqueOf === technique.id && score !== undefined)
          cells.push({ id: sub.id, name: sub.name, score, sub: true });
      }
    }
    return { tactic, cells };
  });
  const rows = Math.max(...columns.map((column) => column.cells.length));
  const width = CELL.margin * 2 + columns.length * (CELL.width + CELL.gap) - CELL.gap;
  const top = CELL.margin + 28;
  const height = top + CELL.header + rows * (CELL.height + CELL.gap) + CELL.legend + CELL.margin;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<title>${escapeXml(layer.name)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${CELL.margin}" y="${CELL.margin + 14}" font-size="16" font-weight="bold">${escapeXml(layer.name)}</text>`,
  ];
  columns.forEach(({ tactic, cells }, i) => {
    const x = CELL.margin + i * (CELL.width + CELL.gap);
    const covered = cells.filter((cell) => cell.score !== undefined && !cell.sub).length;
    out.push(
      `<rect x="${x}" y="${top}" width="${CELL.width}" height="${CELL.header - 6}" fill="#dddddd"/>`,
      `<text x="${x + 6}" y="${top + 16}" font-size="11" font-weight="bold">${escapeXml(tactic.name)}</text>`,
      `<text x="${x + 6}" y="${top + 30}" font-size="9" fill="#444444">${covered}/${cells.filter((c) => !c.sub).length} covered · ${tactic.id}</text>`,
    );
    cells.forEach((cell, row) => {
      const y = top + CELL.header + row * (CELL.height + CELL.gap);
      const indent = cell.sub ? CELL.indent : 0;
      const lines = wrap(`${cell.id.replace('AML.', '')} ${cell.name}`, cell.sub ? 30 : 32);
      out.push(
        `<rect x="${x + indent}" y="${y}" width="${CELL.width - indent}" height="${CELL.height}" fill="${colorFor(cell.score, layer)}" stroke="#aaaaaa" stroke-width="0.5"/>`,
        ...lines.map(
          (line, k) =>
            `<text x="${x + indent + 4}" y="${y + 12 + k * 11}" font-size="9">${escapeXml(line)}</text>`,
        ),
      );
    });
  });
  const legendY = height - CELL.margin - CELL.legend + 14;
  layer.legendItems.forEach((item, i) => {
    const x = CELL.margin + i * 320;
    out.push(
      `<rect x="${x}" y="${legendY}" width="14" height="14" fill="${item.color}" stroke="#aaaaaa"/>`,
      `<text x="${x + 20}" y="${legendY + 11}" font-size="11">${escapeXml(item.label)}</text>`,
    );
  });
  out.push(
    `<text x="${CELL.margin + layer.legendItems.length * 320}" y="${legendY + 11}" font-size="11" fill="#444444">${escapeXml(`${framework.framework.name} ${framework.framework.version}`)}; white: not covered</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
