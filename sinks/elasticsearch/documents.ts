import { isIP } from 'node:net';
import { severityRank } from '../../core/severity.ts';
import type { Alert } from '../../engine/alert.ts';
import type { Envelope, EventType } from '../../engine/model/index.ts';
import type { ItemKind } from '../types.ts';

/** Pure builders: envelope → ECS document, alert → ECS document, and the daily index each belongs in. */

export const ECS_VERSION = '8.11.0';

export type EcsDocument = Record<string, unknown>;

/**
 * `<prefix>-events-YYYY.MM.DD` / `<prefix>-alerts-YYYY.MM.DD` by event time. Envelope and alert timestamps
 * are canonical UTC ISO strings, so the date is read off the string: the same item always lands in the same
 * index, which is what makes `_id` deduplication hold across redeliveries.
 */
export function indexName(prefix: string, kind: ItemKind, timestamp: string): string {
  return `${prefix}-${kind}s-${timestamp.slice(0, 10).replaceAll('-', '.')}`;
}

/** ECS categorization per event type (ECS 8.11 allowed values). */
const CATEGORIZATION: Record<EventType, { category: string[]; type: string[] }> = {
  file_read: { category: ['file'], type: ['access'] },
  file_write: { category: ['file'], type: ['change'] },
  patch_apply: { category: ['file'], type: ['change'] },
  network_egress: { category: ['network'], type: ['connection'] },
  command_exec: { category: ['process'], type: ['start'] },
  tool_call: { category: ['api'], type: ['access'] },
  secret_access: { category: ['configuration'], type: ['access'] },
  custom: { category: [], type: ['info'] },
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

export function alertDocument(alert: Alert): EcsDocument {
  const techniques = techniqueIds(alert.tags);
  return {
    '@timestamp': alert.timestamp,
    ecs: { version: ECS_VERSION },
    message: alert.summary,
    tags: alert.tags,
    event: {
      kind: 'alert',
      id: alert.alertId,
      dataset: 'clawdstrike.alerts',
      module: 'clawdstrike',
      category: ['intrusion_detection'],
      type: ['info'],
      severity: severityRank(alert.severity),
      risk_score: alert.riskScore,
      created: alert.detectedAt,
    },
    agent: { id: alert.agentId },
    rule: { id: alert.ruleId, name: alert.ruleName },
    threat: techniques.length > 0 ? { technique: { id: techniques } } : undefined,
    clawdstrike: {
      schema_version: alert.schemaVersion,
      severity: alert.severity,
      session: { id: alert.sessionId },
      alert: {
        rule_type: alert.ruleType,
        group_key: alert.groupKey,
        event_ids: alert.eventIds,
        event_count: alert.eventCount,
        actions: alert.actions,
      },
      enrichment: alert.enrichment,
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
        network: text(data.protocol) ? { protocol: text(data.protocol)?.toLowerCase() } : undefined,
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
