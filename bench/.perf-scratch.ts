// scratch profiling harness (not committed; deleted at end)
import { AssetInventory, AssetRecordSchema, createEngine, type Envelope, IntelIndex, loadRules, parseIndicatorJson, parseRecord, timestampMillis } from '../engine/index.ts';
import { corpusAssets, corpusBatches, corpusIntel } from './engine-corpus.ts';
const N = Number(process.argv[2] ?? 300000);
const loaded = loadRules([new URL('../rules/', import.meta.url).pathname]);
if (!loaded.ok) throw new Error('rules');
const intel = new IntelIndex(parseIndicatorJson(corpusIntel(), 'x').indicators);
const assets = new AssetInventory(corpusAssets().map((r) => AssetRecordSchema.parse(r)));
const raws: unknown[] = [];
for (const b of corpusBatches(N, 50000)) raws.push(...b);
let bestP = 0, bestE = 0;
for (let round = 0; round < 6; round++) {
  let t = performance.now();
  const envs: Envelope[] = [];
  for (const r of raws) { const p = parseRecord(r); if (p.ok) envs.push(p.value); }
  const parseMs = performance.now() - t;
  let now = 0;
  const engine = createEngine({ rules: loaded.value, intel, assets, clock: () => now });
  let alerts = 0;
  t = performance.now();
  for (const e of envs) { now = timestampMillis(e.timestamp); alerts += engine.process(e).length; }
  const engMs = performance.now() - t;
  const s = engine.stats();
  bestP = Math.max(bestP, N / parseMs * 1000); bestE = Math.max(bestE, envs.length / engMs * 1000);
  if (round === 5) console.log(`best parse ${Math.round(bestP)} engine ${Math.round(bestE)}`);
  else console.log(`parse ${Math.round(N / parseMs * 1000)}/s engine ${Math.round(envs.length / engMs * 1000)}/s alerts ${alerts} supp ${s.alertsSuppressed} dup ${s.duplicatesDropped}`);
}
