import type { AlertDetail, ResponseActionRecord, WorkflowEntry } from '../../store/types.ts';
import { href, html, type SafeHtml } from '../html.ts';
import type { RuleInfo } from '../rules.ts';
import { csrfField, page, type ViewContext } from './layout.ts';
import {
  agentLink,
  eventAnchor,
  eventDetail,
  jsonBlock,
  severityBadge,
  time,
  timelineHref,
} from './parts.ts';
import { workflowFields } from './queue.ts';

function tagList(tags: readonly string[]): SafeHtml {
  const framework = (tag: string) =>
    tag.startsWith('attack:') ? 'ATT&CK' : tag.startsWith('atlas:') ? 'ATLAS' : 'Other';
  const groups = new Map<string, string[]>();
  for (const tag of tags) groups.set(framework(tag), [...(groups.get(framework(tag)) ?? []), tag]);
  return html`<dl class="tags">${[...groups].map(
    ([name, list]) =>
      html`<dt>${name}</dt><dd>${list.map((tag) => html`<span class="tag">${tag}</span> `)}</dd>`,
  )}</dl>`;
}

function actionRows(actions: readonly ResponseActionRecord[]): SafeHtml {
  if (actions.length === 0) return html`<p class="muted">No response actions.</p>`;
  return html`<table class="actions"><thead><tr><th scope="col">Action</th><th scope="col">Origin</th><th scope="col">By</th><th scope="col">Delivery</th><th scope="col">Attempts</th><th scope="col">HTTP</th><th scope="col">Detail</th><th scope="col">Requested</th><th scope="col">Updated</th></tr></thead>
<tbody>${actions.map(
    (action) =>
      html`<tr class="action" data-action="${action.action}" data-status="${action.status}"><td>${action.action}</td><td>${action.origin}</td><td>${action.user ?? 'rule'}</td><td class="delivery delivery-${action.status}">${action.status}</td><td class="attempts">${action.attempts ?? ''}</td><td class="http-status">${action.httpStatus ?? ''}</td><td>${action.detail ?? ''}</td><td>${time(action.requestedAt)}</td><td>${time(action.updatedAt)}</td></tr>`,
  )}</tbody></table>`;
}

function changeText(entry: WorkflowEntry): string {
  const { change } = entry;
  const parts: string[] = [];
  if (change.status) parts.push(`status ${entry.fromStatus} → ${entry.toStatus}`);
  if (change.verdict !== undefined) parts.push(`verdict ${change.verdict ?? 'cleared'}`);
  if (change.assignee !== undefined)
    parts.push(change.assignee === null ? 'unassigned' : `assigned to ${change.assignee}`);
  return parts.join(', ');
}

function history(entries: readonly WorkflowEntry[]): SafeHtml {
  if (entries.length === 0) return html`<p class="muted">No changes yet.</p>`;
  return html`<ol class="history">${entries.map(
    (entry) =>
      html`<li class="change">${time(entry.at)} <strong class="change-user">${entry.user}</strong>: <span class="change-what">${changeText(entry)}</span>${entry.change.note ? html`<blockquote class="note">${entry.change.note}</blockquote>` : ''}</li>`,
  )}</ol>`;
}

/** `alert.response.policySuggestion`, when the alert carries one (added to alerts elsewhere; read loosely). */
function policySuggestion(alert: object): unknown {
  const response = (alert as { response?: unknown }).response;
  return response && typeof response === 'object'
    ? (response as { policySuggestion?: unknown }).policySuggestion
    : undefined;
}

export function detailPage(input: {
  context: ViewContext;
  detail: AlertDetail;
  rule: RuleInfo | undefined;
  manualActions: readonly string[];
}): SafeHtml {
  const { detail, rule, context } = input;
  const { alert, workflow } = detail;
  const canAct = context.role !== 'viewer';
  const suggestion = policySuggestion(alert);
  const first = detail.events[0];
  const jump = timelineHref(alert.agentId, alert.sessionId, { alert: alert.alertId });
  return page(
    alert.ruleName || alert.ruleId,
    context,
    html`<h1><span class="rule-name">${alert.ruleName || alert.ruleId}</span> ${severityBadge(alert.severity)}</h1>
<p class="alert-meta">Rule <a href="${href(['rules'], { rule: alert.ruleId })}">${alert.ruleId}</a> · risk ${alert.riskScore} · agent ${agentLink(alert.agentId)} · session <a href="${jump}${first ? `#${eventAnchor(first.eventId)}` : ''}" id="jump-timeline">${alert.sessionId}</a> · ${time(alert.timestamp)} · alert <code>${alert.alertId}</code></p>
<section aria-labelledby="s-what"><h2 id="s-what">What happened</h2>
<p class="summary" id="summary">${alert.summary}</p>
${rule?.description ? html`<p class="description" id="rule-description">${rule.description}</p>` : ''}
${tagList(alert.tags)}
</section>
<section aria-labelledby="s-workflow"><h2 id="s-workflow">Workflow</h2>
<p id="workflow-state">Status <strong class="status status-${workflow.status}" id="status">${workflow.status}</strong> · verdict <strong id="verdict">${workflow.verdict ?? 'none'}</strong> · assignee <strong id="assignee">${workflow.assignee ?? 'nobody'}</strong></p>
${
  canAct
    ? html`<form method="post" action="${href(['api', 'alerts', alert.alertId, 'workflow'])}" class="workflow" aria-label="Change workflow">${csrfField(context)}${workflowFields()}<button type="submit">Save</button></form>`
    : ''
}
<h3>History</h3>
${history(detail.history)}
</section>
<section aria-labelledby="s-events"><h2 id="s-events">Contributing events (${detail.events.length} of ${alert.eventCount})</h2>
<p><a href="${jump}${first ? `#${eventAnchor(first.eventId)}` : ''}">Show in the session timeline</a></p>
${detail.events.map(eventDetail)}
${detail.missingEventIds.length > 0 ? html`<p class="muted">Not in the store: ${detail.missingEventIds.join(', ')}</p>` : ''}
</section>
<section aria-labelledby="s-response"><h2 id="s-response">Response</h2>
${actionRows(detail.actions)}
${
  canAct && input.manualActions.length > 0
    ? html`<form method="post" action="${href(['api', 'alerts', alert.alertId, 'respond'])}" class="respond" aria-label="Run a response action">${csrfField(context)}
  <label>Action <select name="action">${input.manualActions.map((action) => html`<option value="${action}">${action}</option>`)}</select></label>
  <button type="submit">Run response action</button></form>`
    : ''
}
${suggestion !== undefined ? html`<h3>Policy suggestion</h3>${jsonBlock(suggestion)}` : ''}
</section>
<section aria-labelledby="s-enrichment"><h2 id="s-enrichment">Enrichment</h2>
${Object.keys(alert.enrichment).length > 0 ? jsonBlock(alert.enrichment) : html`<p class="muted">None.</p>`}
</section>`,
  );
}
