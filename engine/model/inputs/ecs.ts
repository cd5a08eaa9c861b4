import { createHash, type Hash } from 'node:crypto';
import type { EventType } from '../envelope.ts';

/*
 * ECS documents as Beats-style shippers (Filebeat, Logstash's elasticsearch output, hushd's elastic exporter)
 * write them: which event type a document is, and the id of one that carries no `event.id`.
 * docs/event-model.md has both tables.
 */

/** What a shipper names an action, beyond hushd's own action types (hushd-actions.ts). */
const EVENT_TYPE_BY_ECS_ACTION: ReadonlyMap<string, EventType> = new Map(
  Object.entries({
    // Auditbeat / Endpoint / Sysmon process starts
    exec: 'command_exec',
    execve: 'command_exec',
    executed: 'command_exec',
    'process-started': 'command_exec',
    process_started: 'command_exec',
    start: 'command_exec',
    // file access and changes
    'opened-file': 'file_read',
    open: 'file_read',
    read: 'file_read',
    write: 'file_write',
    created: 'file_write',
    creation: 'file_write',
    modified: 'file_write',
    modification: 'file_write',
    updated: 'file_write',
    deleted: 'file_write',
    deletion: 'file_write',
    renamed: 'file_write',
    rename: 'file_write',
    moved: 'file_write',
    overwrite: 'file_write',
    attributes_modified: 'file_write',
    // outbound connections
    'connected-to': 'network_egress',
    connection_attempted: 'network_egress',
    'connection-attempted': 'network_egress',
    network_flow: 'network_egress',
    'network-flow': 'network_egress',
    dns_query: 'network_egress',
    // AI agents' tools
    tool_call: 'tool_call',
    execute_tool: 'tool_call',
  } satisfies Record<string, EventType>),
);

/** `event.type` values that make a `file` event a change rather than a read. */
const FILE_CHANGE_TYPES: ReadonlySet<string> = new Set(['change', 'creation', 'deletion']);

/**
 * The event type of an ECS document that hushd's action types do not name: its `event.category` first
 * (process → command_exec, file → file_write when `event.type` says change/creation/deletion or the action is
 * a write, else file_read, network → network_egress, api → tool_call), then `event.action` alone, else
 * undefined (the document stays `custom`).
 */
export function eventTypeForEcs(
  action: string | undefined,
  categories: readonly string[],
  types: readonly string[],
): EventType | undefined {
  const byAction = action === undefined ? undefined : EVENT_TYPE_BY_ECS_ACTION.get(action.toLowerCase());
  if (categories.includes('process')) return 'command_exec';
  if (categories.includes('file')) {
    const changed = types.some((type) => FILE_CHANGE_TYPES.has(type)) || byAction === 'file_write';
    return changed ? 'file_write' : 'file_read';
  }
  if (categories.includes('network')) return 'network_egress';
  if (categories.includes('api')) return 'tool_call';
  return byAction;
}

/** A keyword that ECS allows as one value or an array of them, as a list of its strings. */
export function keywordList(value: string | readonly string[] | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  return typeof value === 'string' ? [value] : value.filter((item) => typeof item === 'string');
}

export const CONTENT_ID_PREFIX = 'ecs-';

/**
 * The id of a document that carries none (no `event.id`, no `_id`): `ecs-` and the first 32 hex digits of the
 * SHA-256 of its canonical JSON (object keys sorted by UTF-16 code units, no whitespace, JSON.stringify's
 * strings and numbers). The same document resent, whatever its key order, gets the same id, so it
 * deduplicates like any other. The walk is linear in the document, whose depth the collector bounds.
 */
export function contentId(document: unknown): string {
  const hash = createHash('sha256');
  writeCanonical(hash, document);
  return `${CONTENT_ID_PREFIX}${hash.digest('hex').slice(0, 32)}`;
}

function writeCanonical(hash: Hash, value: unknown): void {
  if (Array.isArray(value)) {
    hash.update('[');
    value.forEach((item, index) => {
      if (index > 0) hash.update(',');
      writeCanonical(hash, item);
    });
    hash.update(']');
    return;
  }
  if (typeof value === 'object' && value !== null) {
    hash.update('{');
    const record = value as Record<string, unknown>;
    let first = true;
    for (const key of Object.keys(record).sort()) {
      if (record[key] === undefined) continue;
      if (!first) hash.update(',');
      first = false;
      hash.update(JSON.stringify(key));
      hash.update(':');
      writeCanonical(hash, record[key]);
    }
    hash.update('}');
    return;
  }
  hash.update(JSON.stringify(value) ?? 'null');
}
