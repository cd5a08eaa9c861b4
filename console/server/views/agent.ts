import type { AgentPage } from '../../store/types.ts';
import { html, type SafeHtml } from '../html.ts';
import { page, type ViewContext } from './layout.ts';
import { barChart, jsonBlock, time, timelineHref } from './parts.ts';
import { alertRow } from './queue.ts';

export function agentPage(input: {
  context: ViewContext;
  agent: AgentPage;
  range: { from: string; to: string };
}): SafeHtml {
  const { agent } = input;
  return page(
    `Agent ${agent.agentId}`,
    input.context,
    html`<h1>Agent <code>${agent.agentId}</code></h1>
<section aria-labelledby="s-risk"><h2 id="s-risk">Risk score over time</h2>
<p class="muted">Highest alert risk score per hour, ${time(input.range.from)} to ${time(input.range.to)}.</p>
${barChart(
  agent.risk.map((point) => ({ at: point.at, value: point.maxRiskScore })),
  { label: `risk score of agent ${agent.agentId} per hour`, max: 100, unit: 'max risk' },
)}
</section>
<section aria-labelledby="s-sessions"><h2 id="s-sessions">Sessions</h2>
<table><thead><tr><th scope="col">Session</th><th scope="col">First event</th><th scope="col">Last event</th><th scope="col">Events</th><th scope="col">allow / warn / deny</th></tr></thead>
<tbody>${agent.sessions.map(
      (session) =>
        html`<tr><td><a href="${timelineHref(agent.agentId, session.sessionId)}">${session.sessionId}</a></td><td>${time(session.firstEventAt)}</td><td>${time(session.lastEventAt)}</td><td>${session.eventCount}</td><td>${session.outcomes.allow ?? 0} / ${session.outcomes.warn ?? 0} / ${session.outcomes.deny ?? 0}</td></tr>`,
    )}</tbody></table>
</section>
<section aria-labelledby="s-alerts"><h2 id="s-alerts">Alerts</h2>
<table class="queue"><thead><tr><th scope="col"><span class="visually-hidden">Select</span></th><th scope="col">Time</th><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Agent</th><th scope="col">Session</th><th scope="col">Summary</th><th scope="col">Status</th><th scope="col">Assignee</th></tr></thead>
<tbody>${agent.alerts.map(alertRow)}</tbody></table>
</section>
<section aria-labelledby="s-inventory"><h2 id="s-inventory">Inventory</h2>
${agent.inventory ? jsonBlock(agent.inventory) : html`<p class="muted">No inventory record.</p>`}
</section>`,
  );
}
