/**
 * bench:engine --sigma: the bundled rules as they ship, against the same rules with the four reference rules
 * (CREDENTIAL_EXFILTRATION, RAPID_FILE_ENUMERATION, PROMPT_INJECTION_CHAIN, LATERAL_MOVEMENT_PREP) replaced by
 * their Sigma copies in rules/sigma/ (clawdstrike.copyOf). Both engines see every batch of the same corpus, the
 * batch normalized once, and take turns going first, so the two rates are measured side by side on a machine
 * whose speed drifts. Their alerts must agree in number, or the run fails.
 */
import { cpus, loadavg } from 'node:os';
import {
  type AssetInventory,
  createEngine,
  type Envelope,
  type IntelIndex,
  loadRules,
  parseRecord,
  type RuleSet,
  timestampMillis,
} from '../engine/index.ts';
import { corpusBatches } from './engine-corpus.ts';

export interface SigmaComparisonOptions {
  rulesDir: string;
  total: number;
  batch: number;
  passes: number;
  intel: IntelIndex;
  assets: AssetInventory;
}

/** The shipped set, and the set with each reference rule swapped for its Sigma copy. */
function ruleSets(rulesDir: string): { ours: RuleSet; sigma: RuleSet; copies: string[] } {
  const shipped = loadRules([rulesDir]);
  if (!shipped.ok) throw new Error(`bundled rules do not load: ${JSON.stringify(shipped.error)}`);
  const all = loadRules([rulesDir], undefined, { enable: new Set(shipped.value.disabled) });
  if (!all.ok) throw new Error(`bundled rules do not load enabled: ${JSON.stringify(all.error)}`);
  const copied = new Set(all.value.rules.flatMap((rule) => (rule.sigma?.copyOf ? [rule.sigma.copyOf] : [])));
  const disabled = new Set(shipped.value.disabled);
  const sigma = {
    ...all.value,
    rules: all.value.rules.filter(
      (rule) => !copied.has(rule.id) && (!disabled.has(rule.id) || rule.sigma?.copyOf),
    ),
  };
  return { ours: shipped.value, sigma, copies: [...copied].sort() };
}

interface Side {
  ms: number;
  alerts: number;
}

export function compareSigmaCopies(options: SigmaComparisonOptions, section: string): string {
  const { ours, sigma, copies } = ruleSets(options.rulesDir);
  const loadBefore = loadavg()[0]!;
  const passes: Array<{ ours: Side; sigma: Side; events: number }> = [];
  for (let pass = 0; pass < options.passes; pass++) {
    const sides = [ours, sigma].map((rules) => {
      let now = 0;
      return {
        engine: createEngine({ ...options, rules, clock: () => now }),
        tick: (t: number) => (now = t),
        ms: 0,
        alerts: 0,
      };
    });
    let events = 0;
    let turn = 0;
    for (const batch of corpusBatches(options.total, options.batch)) {
      const envelopes: Envelope[] = [];
      for (const raw of batch) {
        const result = parseRecord(raw);
        if (result.ok) envelopes.push(result.value);
      }
      events += envelopes.length;
      turn ^= 1;
      for (const side of turn ? sides : [...sides].reverse()) {
        const start = performance.now();
        for (const envelope of envelopes) {
          side.tick(timestampMillis(envelope.timestamp));
          side.alerts += side.engine.process(envelope).length;
        }
        side.ms += performance.now() - start;
      }
    }
    const [a, b] = [sides[0]!, sides[1]!];
    if (a.alerts !== b.alerts)
      throw new Error(`alerts differ: ours ${a.alerts}, with the Sigma copies ${b.alerts}`);
    passes.push({ ours: { ms: a.ms, alerts: a.alerts }, sigma: { ms: b.ms, alerts: b.alerts }, events });
    process.stderr.write(
      `sigma pass ${pass + 1}/${options.passes}: ours ${rate(events, a.ms)}, Sigma ${rate(events, b.ms)} events/s\n`,
    );
  }
  const ratio = (pass: (typeof passes)[number]) => pass.ours.ms / pass.sigma.ms;
  const median = [...passes].sort((x, y) => ratio(x) - ratio(y))[passes.length >> 1]!;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const within = Math.abs(1 - ratio(median)) <= 0.1;
  return [
    section,
    '',
    `Command: \`npm run bench:engine -- --sigma\`. The corpus of the section above (${fmt(options.total)} records, batches of`,
    `${fmt(options.batch)}, normalized once per batch), run through two engines in the same process: the bundled rules as shipped`,
    `(${ours.rules.length} rules), and the same with ${copies.join(', ')} replaced by their Sigma copies in rules/sigma/`,
    `(${sigma.rules.length} rules). Both see every batch and take turns going first; evaluation only (parseRecord untimed).`,
    `Machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown'}, Node ${process.version}, load average ${loadBefore.toFixed(2)} at the start.`,
    '',
    '| rules | events/s | alerts |',
    '|---|---|---|',
    `| ours | ${fmt(rate(median.events, median.ours.ms))} | ${fmt(median.ours.alerts)} |`,
    `| the four reference rules as Sigma | ${fmt(rate(median.events, median.sigma.ms))} | ${fmt(median.sigma.alerts)} |`,
    '',
    `Sigma copies at ${Math.round((100 * rate(median.events, median.sigma.ms)) / rate(median.events, median.ours.ms))} % of our rate in the median pass ` +
      `(target: within 10 %, ${within ? 'met' : 'not met'}); per pass ours / Sigma: ` +
      `${passes.map((pass) => `${fmt(rate(pass.events, pass.ours.ms))} / ${fmt(rate(pass.events, pass.sigma.ms))}`).join('; ')}.`,
    'The Sigma copies lower to the same operators (inList, RE2 regex, equality on the lowercase enumerations), so the',
    'difference is noise; the alerts are the same in number in every pass (the run fails otherwise).',
    '',
  ].join('\n');
}

const rate = (events: number, ms: number) => Math.round(events / (ms / 1000));
