import { stringify } from 'yaml';
import type { Alert } from '../../engine/alert.ts';
import { renderOverlayYaml } from '../../engine/index.ts';
import { alertMarker, type TicketGroup } from './group.ts';

/**
 * What a ticket or comment says about one alert, as plain-text sections. Every value here may come from
 * hostile telemetry: the markdown and ADF renderers put it in code blocks only, and every field is cut to
 * `maxFieldChars` with control and bidirectional-override characters removed.
 */
export interface TicketContent {
  alert: Alert;
  /** First line of every body we write: finds the alert again on the ticket. */
  marker: string;
  group: TicketGroup;
  /** Plain text, one line, at most TITLE_MAX characters, mentions and issue references defused. */
  title: string;
  sections: Section[];
}

export interface Section {
  heading: string;
  text: string;
  /** Code block language (yaml, text). */
  language: string;
  /** Cutting would make it wrong (a policy document): shown whole or replaced by a note. */
  whole?: boolean;
}

export interface ContentLimits {
  maxFieldChars: number;
  maxEventsListed: number;
}

export const TITLE_MAX = 200;

export function ticketContent(alert: Alert, group: TicketGroup, limits: ContentLimits): TicketContent {
  const field = (value: string) => clip(inline(value), limits.maxFieldChars);
  const facts = [
    `rule: ${field(alert.ruleId)} (${field(alert.ruleName)})`,
    `severity: ${alert.severity} (risk ${alert.riskScore})`,
    `agent: ${field(alert.agentId)}`,
    `session: ${field(alert.sessionId)}`,
    `group key: ${field(alert.groupKey)}`,
    `event time: ${field(alert.timestamp)}`,
    `detected: ${field(alert.detectedAt)}`,
    `actions: ${field(alert.actions.join(', '))}`,
    `tags: ${field(alert.tags.join(', '))}`,
    `alert id: ${field(alert.alertId)}`,
  ];
  const listed = alert.eventIds.slice(0, limits.maxEventsListed).map(field);
  const unlisted = alert.eventCount - listed.length;
  const events = [...listed, ...(unlisted > 0 ? [`(${unlisted} more)`] : [])];
  const sections: Section[] = [
    { heading: 'Alert', text: facts.join('\n'), language: 'yaml' },
    { heading: 'Summary', text: clip(multiline(alert.summary), limits.maxFieldChars), language: 'text' },
    { heading: `Events (${alert.eventCount})`, text: events.join('\n'), language: 'text' },
  ];
  const suggestion = policySuggestionYaml(alert);
  if (suggestion !== undefined) {
    sections.push({
      heading: 'Suggested policy',
      text: multiline(suggestion),
      language: 'yaml',
      whole: true,
    });
  }
  if (Object.keys(alert.enrichment).length > 0) {
    const enrichment = clip(multiline(stringify(alert.enrichment)), limits.maxFieldChars);
    sections.push({ heading: 'Enrichment', text: enrichment, language: 'yaml' });
  }
  return {
    alert,
    marker: alertMarker(alert.alertId),
    group,
    title: ticketTitle(alert),
    sections,
  };
}

/** The alert's suggested policy overlay (`response.policySuggestion`) as the YAML a reviewer applies. */
export function policySuggestionYaml(alert: Alert): string | undefined {
  return alert.response ? renderOverlayYaml(alert.response.policySuggestion) : undefined;
}

/** `[severity] rule name: agent`, one line, with @mentions and #references broken by a zero-width space. */
export function ticketTitle(alert: Alert): string {
  const text = inline(`[${alert.severity}] ${alert.ruleName}: ${alert.agentId}`).replace(/[@#]/g, '$&\u200b');
  return clip(text, TITLE_MAX);
}

/** Invisible or direction-changing characters that make a ticket show other text than it holds. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is what it is for.
const DECEPTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function multiline(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(DECEPTIVE, '');
}

function inline(text: string): string {
  return text.replace(/[\t\r\n]+/g, ' ').replace(DECEPTIVE, '');
}

/** Cuts to `max` characters (never inside a surrogate pair), saying how much was cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 24);
  if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
  return `${text.slice(0, end)}… [${text.length - end} chars cut]`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
