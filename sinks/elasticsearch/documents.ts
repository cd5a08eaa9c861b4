import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { eventIdentity } from '../../core/identity.ts';
import { type Severity, severityRank } from '../../core/severity.ts';
import type { Alert } from '../../engine/alert.ts';
import type { Envelope, EventType } from '../../engine/model/index.ts';
import type { ItemKind, SinkItem } from '../types.ts';

/** Pure builders: envelope → ECS document, alert → ECS document, and the daily index each belongs in. */

export const ECS_VERSION = '9.4.0';

export type EcsDocument = Record<string, unknown>;

/** Elasticsearch refuses a whole `_bulk` request when one `_id` is longer than this. */
export const MAX_ID_BYTES = 512;

/**
 * `_id` of an item. Events: the (agentId, eventId) identity, so an agent reusing another agent's eventId
 * cannot make that event a "duplicate", and any id length fits. Alerts: the alertId (a digest the engine
 * makes), itself digested if it were ever too long. The original ids stay in `event.id`.
 */
export function documentId(item: SinkItem): string {
  if (item.kind === 'event') return eventIdentity(item.event.agentId, item.event.eventId);
  const id = item.alert.alertId;
  return Buffer.byteLength(id) <= MAX_ID_BYTES ? id : createHash('sha256').update(id).digest('base64url');
}

/**
 * `<prefix>-events-YYYY.MM.DD` / `<prefix>-alerts-YYYY.MM.DD` for a UTC day given as `YYYY-MM-DD...`.
 * Envelope and alert timestamps are canonical UTC ISO strings, so the date is read off the string.
 */
export function indexName(prefix: string, kind: ItemKind, timestamp: string): string {
  return `${prefix}-${kind}s-${timestamp.slice(0, 10).replaceAll('-', '.')}`;
}

/** Which days of event time get their own index, counted from the day the pipeline received the item. */
export interface IndexDayRange {
  past: number;
  future: number;
}

const DAY_MS = 86_400_000;

/**
 * The daily index of an item: its event day while that lies within `range` of its receive day (events:
 * receivedAt; alerts: detectedAt), else the receive day, so a sender choosing dates from 0000 to 9999 cannot
 * create thousands of indices (and shards). Both days come from the item, so a redelivery picks the same
 * index and `_id` deduplication holds.
 */
export function indexFor(prefix: string, item: SinkItem, range: IndexDayRange): string {
  const [timestamp, received] =
    item.kind === 'event'
      ? [item.event.timestamp, item.event.receivedAt]
      : [item.alert.timestamp, item.alert.detectedAt];
  const receivedDay = dayOf(received);
  const eventDay = dayOf(timestamp);
  if (receivedDay === undefined) {
    return eventDay === undefined
      ? `${prefix}-${item.kind}s-undated`
      : indexName(prefix, item.kind, timestamp);
  }
  const offset = eventDay === undefined ? Number.NaN : (eventDay - receivedDay) / DAY_MS;
  const within = offset >= -range.past && offset <= range.future;
  return indexName(prefix, item.kind, within ? timestamp : received);
}

/** Midnight UTC of a `YYYY-MM-DD...` string, or undefined when it does not start with a real date. */
function dayOf(timestamp: string): number | undefined {
  const day = timestamp.slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const midnight = Date.parse(`${day}T00:00:00.000Z`);
  if (Number.isNaN(midnight) || new Date(midnight).toISOString().slice(0, 10) !== day) return undefined;
  return midnight;
}

/**
 * ECS categorization per event type (ECS 9.4 allowed values; each type is one of its category's expected
 * types). An agent's own kind of activity, unknown to us, is still an agent action: `api` / `info`.
 */
const CATEGORIZATION: Record<EventType, { category: string[]; type: string[] }> = {
  file_read: { category: ['file'], type: ['access'] },
  file_write: { category: ['file'], type: ['change'] },
  patch_apply: { category: ['file'], type: ['change'] },
  network_egress: { category: ['network'], type: ['connection'] },
  command_exec: { category: ['process'], type: ['start'] },
  tool_call: { category: ['api'], type: ['access'] },
  secret_access: { category: ['configuration'], type: ['access'] },
  custom: { category: ['api'], type: ['info'] },
};

export function eventDocument(event: Envelope): EcsDocument {
  const { decision } = event;
  const action = event.originalType ?? event.eventType;
  const { category, type } = CATEGORIZATION[event.eventType];
  // A guard that denied or warned makes the event an intrusion-detection signal as well.
  const judged = decision.outcome !== 'allow';
  return {
    '@timestamp': event.timestamp,
    ecs: { version: ECS_VERSION },
    message: decision.message ?? `${action} ${event.target}`.trim(),
    event: {
      kind: 'event',
      id: event.eventId,
      dataset: 'clawdstrike.events',
      module: 'clawdstrike',
      provider: event.source.format,
      category: judged ? [...category, 'intrusion_detection'] : category,
      type: judged ? [...type, decision.outcome === 'deny' ? 'denied' : 'info'] : type,
      action,
      outcome: decision.outcome === 'deny' ? 'failure' : 'success',
      severity: severityRank(decision.severity),
      created: event.receivedAt,
    },
    agent: { id: event.agentId },
    gen_ai: genAiOf(event),
    threat: threatOf(event.metadata.threat),
    ...fieldsFromData(event),
    clawdstrike: {
      schema_version: event.schemaVersion,
      severity: decision.severity,
      session: { id: event.sessionId },
      event_type: event.eventType,
      original_type: event.originalType,
      target: event.target,
      run_id: event.runId,
      trace_id: text(event.metadata.traceId),
      policy_hash: event.policyHash,
      source: event.source,
      decision,
      tool: toolOf(event),
      secret:
        event.eventType === 'secret_access'
          ? { name: text(event.data.secretName), scope: text(event.data.scope) }
          : undefined,
      data: event.data,
      metadata: event.metadata,
    },
  };
}

/**
 * `event.severity` of an alert as Elastic's prebuilt External Alerts rule reads it (21 / 47 / 73 / 99 become
 * low / medium / high / critical); info, which Elastic has no level for, is low.
 */
export const ELASTIC_ALERT_SEVERITY: Readonly<Record<Severity, number>> = {
  info: 21,
  low: 21,
  medium: 47,
  high: 73,
  critical: 99,
};

/**
 * An alert as Elastic Security's External Alerts rule promotes it: `event.kind: alert`, the rule title as
 * `message` (its rule name override), `event.ingested` (its timestamp override: when the sink wrote it) and
 * a module of our own (the rule leaves out endpoint, endgame and cloud_defend). docs/sinks.md.
 */
export function alertDocument(alert: Alert, ingestedAt: string): EcsDocument {
  const techniques = techniqueIds(alert.tags);
  return {
    '@timestamp': alert.timestamp,
    ecs: { version: ECS_VERSION },
    message: alert.ruleName,
    tags: alert.tags,
    event: {
      kind: 'alert',
      id: alert.alertId,
      dataset: 'clawdstrike.alerts',
      module: 'clawdstrike',
      category: ['intrusion_detection'],
      type: ['info'],
      severity: ELASTIC_ALERT_SEVERITY[alert.severity],
      risk_score: alert.riskScore,
      created: alert.detectedAt,
      ingested: ingestedAt,
    },
    agent: { id: alert.agentId },
    gen_ai: { agent: { id: alert.agentId } },
    rule: { id: alert.ruleId, name: alert.ruleName, ruleset: 'clawdstrike-edr' },
    threat: techniques.length > 0 ? { technique: { id: techniques } } : undefined,
    clawdstrike: {
      schema_version: alert.schemaVersion,
      severity: alert.severity,
      session: { id: alert.sessionId },
      alert: {
        summary: alert.summary,
        rule_type: alert.ruleType,
        group_key: alert.groupKey,
        event_ids: alert.eventIds,
        event_count: alert.eventCount,
        actions: alert.actions,
      },
      enrichment: alert.enrichment,
      response: alert.response ? { policy_suggestion: alert.response.policySuggestion } : undefined,
    },
  };
}

/** ECS fields derived from the event's data (same shape for every wire format, see docs/event-model.md). */
function fieldsFromData(event: Envelope): EcsDocument {
  const { data } = event;
  switch (event.eventType) {
    case 'file_read':
    case 'file_write': {
      const hash = text(data.contentHash)?.replace(/^sha256:/, '');
      return { file: { path: text(data.path), hash: hash ? { sha256: hash } : undefined } };
    }
    case 'patch_apply':
      return { file: { path: text(data.filePath) } };
    case 'network_egress':
      return {
        destination: destinationOf(text(data.host), data.port),
        url: text(data.url) ? { full: text(data.url) } : undefined,
        network: networkOf(text(data.protocol)),
      };
    case 'command_exec': {
      const args = Array.isArray(data.args) ? data.args.filter((arg) => typeof arg === 'string') : [];
      return {
        process: {
          command_line: event.target,
          args: args.length > 0 ? [text(data.command), ...args] : undefined,
          working_directory: text(data.workingDir),
        },
      };
    }
    case 'tool_call': {
      // A shell run through a tool (e.g. shell_exec with parameters.command) is still a command line.
      const parameters = data.parameters as Record<string, unknown> | undefined;
      const command = text(parameters?.command);
      return command ? { process: { command_line: command } } : {};
    }
    default:
      return {};
  }
}

/** Transport-layer names (ECS network.transport, IANA keyword names); anything else is an application protocol. */
const TRANSPORTS: ReadonlySet<string> = new Set(['tcp', 'udp', 'icmp', 'ipv6-icmp', 'sctp']);

function networkOf(protocol: string | undefined): EcsDocument | undefined {
  const name = protocol?.toLowerCase();
  if (!name) return undefined;
  return TRANSPORTS.has(name) ? { transport: name } : { protocol: name };
}

/** ECS gen_ai.*: the agent, and for a tool call the tool (OpenTelemetry's execute_tool operation). */
function genAiOf(event: Envelope): EcsDocument {
  const agent = { id: event.agentId };
  if (event.eventType !== 'tool_call') return { agent };
  const { metadata } = event;
  const callId = text(metadata.toolCallId) ?? text(metadata.tool_call_id);
  return {
    agent,
    operation: { name: 'execute_tool' },
    tool: {
      name: text(event.data.toolName),
      type: text(metadata.toolKind),
      call: callId ? { id: callId } : undefined,
    },
  };
}

function destinationOf(host: string | undefined, port: unknown): EcsDocument | undefined {
  if (!host) return undefined;
  const address = isIP(host) ? { ip: host } : { domain: host };
  return { ...address, address: host, port: Number.isInteger(port) ? port : undefined };
}

function toolOf(event: Envelope): EcsDocument | undefined {
  if (event.eventType !== 'tool_call') return undefined;
  return {
    name: text(event.data.toolName),
    kind: text(event.metadata.toolKind),
    provider: text(event.metadata.toolProvider),
  };
}

/** hushd SecurityEvents carry `threat: {tactic?, technique?}` (kept in metadata by the normalizer). */
function threatOf(threat: unknown): EcsDocument | undefined {
  if (typeof threat !== 'object' || threat === null) return undefined;
  const { technique, tactic } = threat as Record<string, unknown>;
  if (!text(technique) && !text(tactic)) return undefined;
  return {
    technique: text(technique) ? { id: text(technique) } : undefined,
    tactic: text(tactic) ? { id: text(tactic) } : undefined,
  };
}

/**
 * MITRE ATT&CK / ATLAS technique ids from rule tags, in the spellings rules use:
 * `attack.t1059.004` (Sigma), `T1059`, `mitre:T1059`, `atlas.aml.t0051`, `AML.T0051`.
 */
export function techniqueIds(tags: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const tag of tags) {
    const match = /(?:^|[.:/])((?:aml\.)?t\d{4}(?:\.\d{3})?)$/i.exec(tag);
    if (match) ids.add(match[1]!.toUpperCase());
  }
  return [...ids];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
