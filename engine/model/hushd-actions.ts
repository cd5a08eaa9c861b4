import type { EventType } from './envelope.ts';

/** hushd action types (AuditEvent action_type, SecurityEvent action) and the event type each becomes. */
const EVENT_TYPE_BY_HUSHD_ACTION: ReadonlyMap<string, EventType> = new Map(
  Object.entries({
    file_access: 'file_read',
    file_read: 'file_read',
    file_write: 'file_write',
    egress: 'network_egress',
    network: 'network_egress',
    shell: 'command_exec',
    command: 'command_exec',
    mcp_tool: 'tool_call',
    tool: 'tool_call',
    patch: 'patch_apply',
    secret: 'secret_access',
    custom: 'custom',
  } satisfies Record<string, EventType>),
);

export function eventTypeForHushdAction(action: string | null | undefined): EventType | undefined {
  // A Map: `constructor` or `toString` is no action type.
  return action ? EVENT_TYPE_BY_HUSHD_ACTION.get(action) : undefined;
}

/** Splits hushd's egress target `host:port` (or `[v6]:port`); a bare host keeps port undefined. */
export function splitHostPort(target: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(target);
  if (bracketed && Number(bracketed[2]) <= 65_535) return { host: bracketed[1]!, port: Number(bracketed[2]) };
  const plain = /^([^:]+):(\d{1,5})$/.exec(target);
  if (plain && Number(plain[2]) <= 65_535) return { host: plain[1]!, port: Number(plain[2]) };
  return { host: target };
}

/** Builds PolicyEvent-shaped data for a hushd target so rules read `data.path`, `data.host`... alike. */
export function dataForTarget(
  eventType: EventType,
  target: string,
  port?: number | null,
): Record<string, unknown> {
  switch (eventType) {
    case 'file_read':
    case 'file_write':
      return { type: 'file', path: target, operation: eventType === 'file_read' ? 'read' : 'write' };
    case 'network_egress': {
      const split = splitHostPort(target);
      return { type: 'network', host: split.host, port: split.port ?? port ?? undefined };
    }
    case 'command_exec':
      return { type: 'command', command: target, args: [] };
    case 'tool_call':
      return { type: 'tool', toolName: target, parameters: {} };
    case 'patch_apply':
      return { type: 'patch', filePath: target };
    case 'secret_access':
      return { type: 'secret', secretName: target };
    case 'custom':
      return { type: 'custom' };
  }
}
