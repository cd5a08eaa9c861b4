import { EVENT_TYPES } from '../../../engine/model/index.ts';
import type { StoredEvent } from '../../store/types.ts';
import { href, html, type SafeHtml } from '../html.ts';
import { page, type ViewContext } from './layout.ts';
import { agentLink, eventAnchor, eventDetail, outcomeBadge, time, timelineHref } from './parts.ts';

function row(stored: StoredEvent, focusAlert: string | undefined): SafeHtml {
  const { event, alertIds } = stored;
  const inFocus = focusAlert !== undefined && alertIds.includes(focusAlert);
  const classes = [
    'tl-event',
    `outcome-row-${event.decision.outcome}`,
    alertIds.length > 0 ? 'in-alert' : '',
    inFocus ? 'focus' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return html`<li class="${classes}" id="${eventAnchor(event.eventId)}" tabindex="-1" data-event-id="${event.eventId}" data-event-type="${event.eventType}" data-outcome="${event.decision.outcome}">
<details${inFocus ? html` open` : ''}>
<summary>${time(event.timestamp)} <strong>${event.eventType}</strong> ${outcomeBadge(event.decision.outcome)} <span class="target">${event.target}</span>
${alertIds.map((id) => html` <a class="alert-ref" href="${href(['alerts', id])}">alert ${id.slice(0, 8)}</a>`)}</summary>
${eventDetail(event)}
</details>
</li>`;
}

export function timelinePage(input: {
  context: ViewContext;
  agentId: string;
  sessionId: string;
  focusAlert: string | undefined;
  eventTypes: readonly string[];
  events: readonly StoredEvent[];
  nextHref: string | undefined;
}): SafeHtml {
  const { agentId, sessionId, focusAlert } = input;
  return page(
    `Session ${sessionId}`,
    input.context,
    html`<h1>Session timeline</h1>
<p>Agent ${agentLink(agentId)} · session <code>${sessionId}</code>${focusAlert ? html` · events of alert <a href="${href(['alerts', focusAlert])}">${focusAlert}</a> are marked` : ''}</p>
<form method="get" action="/timeline" class="filters" aria-label="Filter events by type">
  <input type="hidden" name="agent" value="${agentId}"><input type="hidden" name="session" value="${sessionId}">
  ${focusAlert ? html`<input type="hidden" name="alert" value="${focusAlert}">` : ''}
  <fieldset><legend>Event types</legend>
  ${EVENT_TYPES.map((type) => html`<label><input type="checkbox" name="type" value="${type}"${input.eventTypes.includes(type) ? html` checked` : ''}> ${type}</label> `)}
  </fieldset>
  <button type="submit">Filter</button> <a href="${timelineHref(agentId, sessionId, focusAlert ? { alert: focusAlert } : {})}">All types</a>
</form>
<p class="legend"><span class="in-alert-key">marked</span>: part of an alert · decisions ${outcomeBadge('allow')} ${outcomeBadge('warn')} ${outcomeBadge('deny')}</p>
<ol class="timeline" id="timeline">${input.events.map((event) => row(event, focusAlert))}</ol>
${input.events.length === 0 ? html`<p class="muted">No events.</p>` : ''}
${input.nextHref ? html`<p><a href="${input.nextHref}" rel="next">Later events</a></p>` : ''}`,
  );
}
