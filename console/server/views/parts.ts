import { createHash } from 'node:crypto';
import type { Envelope } from '../../../engine/model/index.ts';
import { type HtmlValue, href, html, type SafeHtml } from '../html.ts';

export function time(iso: string | null | undefined): SafeHtml {
  if (!iso) return html`<span class="muted">—</span>`;
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, 'Z')}</time>`;
}

export function severityBadge(severity: string): SafeHtml {
  return html`<span class="sev sev-${severity}">${severity}</span>`;
}

export function outcomeBadge(outcome: string): SafeHtml {
  return html`<span class="outcome outcome-${outcome}">${outcome}</span>`;
}

/** A fragment id for an event: a digest, so a hostile event id never has to be a valid id or fragment. */
export function eventAnchor(eventId: string): string {
  return `ev-${createHash('sha256').update(eventId).digest('hex').slice(0, 16)}`;
}

export function agentLink(agentId: string): SafeHtml {
  return html`<a href="${href(['agent'], { id: agentId })}">${agentId}</a>`;
}

export function timelineHref(agentId: string, sessionId: string, extra: Record<string, string> = {}): string {
  return href(['timeline'], { agent: agentId, session: sessionId, ...extra });
}

/** What `target` is, named for the event type. */
const TARGET_LABEL: Readonly<Record<string, string>> = {
  file_read: 'Path',
  file_write: 'Path',
  patch_apply: 'Path',
  network_egress: 'Host',
  command_exec: 'Command',
  tool_call: 'Tool',
  secret_access: 'Secret',
  custom: 'Target',
};

/** A value of an event's `data`, shown as text (objects as indented JSON); never as markup. */
function value(data: unknown): HtmlValue {
  if (typeof data === 'string') return html`<code>${data}</code>`;
  return html`<pre>${JSON.stringify(data, null, 2)}</pre>`;
}

function definitions(entries: ReadonlyArray<readonly [string, unknown]>): SafeHtml {
  return html`<dl class="fields">${entries.map(([key, data]) => html`<dt>${key}</dt><dd>${value(data)}</dd>`)}</dl>`;
}

/** One event in full: what it acted on, every data field, the guard's verdict and where it came from. */
export function eventDetail(event: Envelope): SafeHtml {
  const { decision } = event;
  // `type` is the data's own discriminator; a field equal to the target is shown once, as the target.
  const dataEntries = Object.entries(event.data).filter(
    ([key, data]) => key !== 'type' && data !== event.target,
  );
  return html`<article class="event" data-event-id="${event.eventId}" aria-label="${event.eventType} event ${event.eventId}">
  <header>${time(event.timestamp)} <strong>${event.eventType}</strong>${event.originalType ? html` (${event.originalType})` : ''}
    ${outcomeBadge(decision.outcome)} ${severityBadge(decision.severity)}</header>
  ${definitions([
    [TARGET_LABEL[event.eventType] ?? 'Target', event.target],
    ...dataEntries,
    [
      'Guard verdict',
      [decision.outcome, decision.guard, decision.reason, decision.message].filter(Boolean).join(' · '),
    ],
    ['Event id', event.eventId],
    ['Source', [event.source.format, event.source.kind, event.source.emitter].filter(Boolean).join(' · ')],
    ...(event.integrity ? [['Integrity', event.integrity] as const] : []),
  ])}
</article>`;
}

export function jsonBlock(data: unknown): SafeHtml {
  return html`<pre class="json">${JSON.stringify(data, null, 2)}</pre>`;
}

/**
 * A bar chart as inline SVG (no script, no style attribute: the CSP allows neither). Each bar has a <title>
 * for its value; the chart as a whole is an image with a text label.
 */
export function barChart(
  points: ReadonlyArray<{ at: string; value: number }>,
  options: { label: string; max?: number; width?: number; height?: number; unit: string },
): SafeHtml {
  const width = options.width ?? 600;
  const height = options.height ?? 120;
  const max = options.max ?? Math.max(1, ...points.map((point) => point.value));
  const step = points.length > 0 ? width / points.length : width;
  const bars = points.map((point, index) => {
    const barHeight = Math.round((point.value / max) * (height - 4));
    return html`<rect x="${(index * step).toFixed(1)}" y="${height - barHeight}" width="${Math.max(1, step - 1).toFixed(1)}" height="${barHeight}" class="bar"><title>${point.at}: ${point.value} ${options.unit}</title></rect>`;
  });
  return html`<svg class="chart" role="img" aria-label="${options.label}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<line x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}" class="axis"/>${bars}</svg>`;
}
