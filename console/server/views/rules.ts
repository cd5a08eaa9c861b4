import type { RuleStats } from '../../store/types.ts';
import { href, html, type SafeHtml } from '../html.ts';
import type { RuleInfo } from '../rules.ts';
import { page, type ViewContext } from './layout.ts';
import { barChart, time } from './parts.ts';

export function rulesPage(input: {
  context: ViewContext;
  stats: readonly RuleStats[];
  catalog: ReadonlyMap<string, RuleInfo>;
  ruleLink: (rule: RuleInfo) => string;
  range: { from: string; to: string };
  focus: string | undefined;
}): SafeHtml {
  const fired = new Set(input.stats.map((stat) => stat.ruleId));
  const quiet = [...input.catalog.values()].filter((rule) => !fired.has(rule.id));
  const fileLink = (id: string) => {
    const rule = input.catalog.get(id);
    return rule
      ? html`<a href="${input.ruleLink(rule)}">${rule.relativeFile}</a>`
      : html`<span class="muted">not loaded</span>`;
  };
  return page(
    'Rules',
    input.context,
    html`<h1>Rules</h1>
<p class="muted">Hits per hour, ${time(input.range.from)} to ${time(input.range.to)}. Suppressed: alerts the rule's suppression window swallowed in that range, as the processor reports them.</p>
<table class="rules"><thead><tr><th scope="col">Rule</th><th scope="col">Hits (chart)</th><th scope="col">In range</th><th scope="col">Suppressed</th><th scope="col">Last fired</th><th scope="col">File</th></tr></thead>
<tbody>${input.stats.map(
      (
        stat,
      ) => html`<tr id="${`rule-${stat.ruleId}`}"${input.focus === stat.ruleId ? html` class="focus"` : ''}><th scope="row"><a href="${href(['alerts'], { rule: stat.ruleId })}">${stat.ruleId}</a><br><span class="muted">${stat.ruleName}</span></th>
<td>${barChart(
        stat.hits.map((hit) => ({ at: hit.at, value: hit.count })),
        { label: `alerts of ${stat.ruleId} per hour`, width: 240, height: 40, unit: 'alerts' },
      )}</td>
<td>${stat.total}</td><td class="suppressed">${stat.suppressed}</td><td>${time(stat.lastFired)}</td><td>${fileLink(stat.ruleId)}</td></tr>`,
    )}</tbody></table>
<h2>Loaded rules that have not fired</h2>
<ul class="quiet-rules">${quiet.map((rule) => html`<li>${rule.id} (${rule.name}) · <a href="${input.ruleLink(rule)}">${rule.relativeFile}</a></li>`)}</ul>`,
  );
}
