import { parseRecord } from '../engine/index.ts';
import { corpusBatches } from './engine-corpus.ts';
const raws: unknown[] = [];
for (const b of corpusBatches(200000, 50000)) raws.push(...b);
let best = 0;
for (let round = 0; round < 8; round++) {
  const t = performance.now(); let ok = 0;
  for (const r of raws) if (parseRecord(r).ok) ok++;
  best = Math.max(best, raws.length / (performance.now() - t) * 1000);
}
console.log('parse best', Math.round(best));
