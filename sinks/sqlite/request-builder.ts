import { eventIdentity } from '../../core/identity.ts';
import type { Report } from '../../core/reports.ts';
import { severityRank } from '../../core/severity.ts';
import type { Alert } from '../../engine/alert.ts';
import type { Envelope } from '../../engine/model/index.ts';

/** Pure builders: an event or alert → the row values the sink inserts (statements in sink.ts). */

export interface EventRow {
  identity: string;
  event_id: string;
  agent_id: string;
  session_id: string;
  ts: number;
  event_type: string;
  outcome: string;
  body: string;
}

export interface AlertRow {
  alert_id: string;
  rule_id: string;
  rule_name: string;
  severity_rank: number;
  risk_score: number;
  agent_id: string;
  session_id: string;
  ts: number;
  body: string;
  search: string;
}

/**
 * Characters of an alert's search text kept (rule id and name first, tags, summary): a summary quotes
 * attacker-chosen values up to the record limit, and the trigram index grows with every character.
 */
export const MAX_SEARCH_CHARS = 8_192;

/** Dedup key: the (agentId, eventId) identity, as the Elasticsearch sink's `_id`. */
export function eventRow(event: Envelope): EventRow {
  return {
    identity: eventIdentity(event.agentId, event.eventId),
    event_id: event.eventId,
    agent_id: event.agentId,
    session_id: event.sessionId,
    ts: Date.parse(event.timestamp),
    event_type: event.eventType,
    outcome: event.decision.outcome,
    body: JSON.stringify(event),
  };
}

export function alertRow(alert: Alert): AlertRow {
  return {
    alert_id: alert.alertId,
    rule_id: alert.ruleId,
    rule_name: alert.ruleName,
    severity_rank: severityRank(alert.severity),
    risk_score: alert.riskScore,
    agent_id: alert.agentId,
    session_id: alert.sessionId,
    ts: Date.parse(alert.timestamp),
    body: JSON.stringify(alert),
    search: searchText(alert),
  };
}

/**
 * What free text searches by substring: rule id, rule name, tags and summary, one per line (a query word holds
 * no whitespace, so it cannot match across two), lowercased here and in the query so case folding is the same
 * everywhere. Alert, agent and session ids match a word only whole (their own indexed columns).
 */
export function searchText(alert: Alert): string {
  return [alert.ruleId, alert.ruleName, ...alert.tags, alert.summary]
    .join('\n')
    .toLowerCase()
    .slice(0, MAX_SEARCH_CHARS);
}

/** A processor report → the row of its table (rule_counts or action_deliveries). */
export function reportRow(report: Report): {
  kind: Report['kind'];
  values: Record<string, string | number | null>;
} {
  if (report.kind === 'rule_counts') {
    return {
      kind: report.kind,
      values: {
        id: report.id,
        rule_id: report.ruleId,
        partition: report.partition,
        ts: Date.parse(report.at),
        alerts: report.alerts,
        suppressed: report.suppressed,
      },
    };
  }
  return {
    kind: report.kind,
    values: {
      alert_id: report.alertId,
      action: report.action,
      sink: report.sink,
      status: report.status,
      attempts: report.attempts,
      http_status: report.httpStatus,
      detail: report.detail,
      at: Date.parse(report.at),
    },
  };
}
