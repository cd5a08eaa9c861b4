import { SEVERITIES } from '../../../core/severity.ts';
import { ALERT_SORTS, ALERT_STATUSES, type AlertRecord, VERDICTS } from '../../store/types.ts';
import { href, html, type SafeHtml } from '../html.ts';
import { csrfField, page, type ViewContext } from './layout.ts';
import { agentLink, severityBadge, time, timelineHref } from './parts.ts';

/** The queue's filter as the form sends it: strings (lists for multi-value fields), shown back as typed. */
export interface QueueForm {
  severity: string[];
  rule: string[];
  agent: string;
  status: string[];
  assignee: string;
  from: string;
  to: string;
  q: string;
  sort: string;
  order: string;
}

export const UNASSIGNED = '(unassigned)';

export function alertRow(record: AlertRecord): SafeHtml {
  const { alert, workflow } = record;
  return html`<tr data-alert-id="${alert.alertId}">
  <td><input type="checkbox" name="ids" value="${alert.alertId}" form="bulk" aria-label="select alert ${alert.alertId}"></td>
  <td>${time(alert.timestamp)}</td>
  <td>${severityBadge(alert.severity)}</td>
  <td><a class="rule-link" href="${href(['alerts', alert.alertId])}">${alert.ruleId}</a></td>
  <td>${agentLink(alert.agentId)}</td>
  <td><a href="${timelineHref(alert.agentId, alert.sessionId)}">${alert.sessionId}</a></td>
  <td class="summary">${alert.summary}</td>
  <td class="status status-${workflow.status}">${workflow.status}${workflow.verdict ? html` · ${workflow.verdict}` : ''}</td>
  <td>${workflow.assignee ?? html`<span class="muted">—</span>`}</td>
</tr>`;
}

function options(values: readonly string[], selected: readonly string[], blank: string | false = 'any') {
  return html`${blank ? html`<option value="">${blank}</option>` : ''}${values.map(
    (value) =>
      html`<option value="${value}"${selected.includes(value) ? html` selected` : ''}>${value}</option>`,
  )}`;
}

export function queuePage(input: {
  context: ViewContext;
  form: QueueForm;
  rows: readonly AlertRecord[];
  matching: number;
  ruleIds: readonly string[];
  /** The current filter as a query string, for the live feed and the bulk form. */
  filterQuery: string;
  nextHref: string | undefined;
  error?: string;
}): SafeHtml {
  const { form, context } = input;
  const canChange = context.role !== 'viewer';
  return page(
    'Alerts',
    context,
    html`<h1>Alert queue</h1>
<form method="get" action="/alerts" class="filters" aria-label="Filter alerts">
  <label>Severity <select name="severity">${options(SEVERITIES, form.severity)}</select></label>
  <label>Rule <select name="rule">${options(input.ruleIds, form.rule)}</select></label>
  <label>Agent <input type="text" name="agent" value="${form.agent}" maxlength="512"></label>
  <label>Status <select name="status">${options(ALERT_STATUSES, form.status)}</select></label>
  <label>Assignee <input type="text" name="assignee" value="${form.assignee}" maxlength="128" list="assignee-hints"></label>
  <datalist id="assignee-hints"><option value="${UNASSIGNED}"></option></datalist>
  <label>From (UTC) <input type="datetime-local" name="from" value="${form.from}" step="1"></label>
  <label>To (UTC) <input type="datetime-local" name="to" value="${form.to}" step="1"></label>
  <label>Search <input type="search" name="q" value="${form.q}" maxlength="200"></label>
  <label>Sort <select name="sort">${options(ALERT_SORTS, [form.sort], false)}</select></label>
  <label>Order <select name="order">${options(['desc', 'asc'], [form.order], false)}</select></label>
  <button type="submit">Apply</button> <a href="/alerts">Clear</a>
</form>
${input.error ? html`<p role="alert" class="error">${input.error}</p>` : ''}
<p><span id="matching" class="matching">${input.matching}</span> alerts match. <span id="live-status" aria-live="polite"></span></p>
<table class="queue" id="queue" data-live="${`/api/stream?${input.filterQuery}`}" aria-describedby="queue-help">
<caption id="queue-help">Newest first unless sorted otherwise. Keys: j / k move between alerts, Enter opens one.</caption>
<thead><tr><th scope="col"><span class="visually-hidden">Select</span></th><th scope="col">Time</th><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Agent</th><th scope="col">Session</th><th scope="col">Summary</th><th scope="col">Status</th><th scope="col">Assignee</th></tr></thead>
<tbody>${input.rows.map(alertRow)}</tbody>
</table>
${input.nextHref ? html`<p><a href="${input.nextHref}" rel="next">Next page</a></p>` : ''}
${
  canChange
    ? html`<form method="post" action="${`/api/alerts/bulk?${input.filterQuery}`}" id="bulk" class="bulk" aria-label="Bulk action">
  <h2>Bulk action</h2>
  <p>Applies to the selected alerts, or, when none is selected, to all <span class="matching">${input.matching}</span> alerts of the filter.</p>
  ${csrfField(context)}
  ${workflowFields()}
  <button type="submit">Apply to alerts</button>
</form>`
    : ''
}`,
  );
}

/** The workflow change controls, shared by the alert page and the bulk form; blank fields stay unchanged. */
export function workflowFields(): SafeHtml {
  return html`<label>Status <select name="status">${options(ALERT_STATUSES, [], 'unchanged')}</select></label>
  <label>Verdict <select name="verdict">${options(VERDICTS, [], 'unchanged')}</select></label>
  <label>Assign to <input type="text" name="assignee" maxlength="128"></label>
  <label><input type="checkbox" name="unassign" value="1"> Unassign</label>
  <label class="wide">Note <textarea name="note" rows="2" maxlength="4000"></textarea></label>`;
}
