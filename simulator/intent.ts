import type { Severity } from '../core/index.ts';
import type { Decision } from '../engine/model/index.ts';
import type { AttackName } from './attacks.ts';

/**
 * What an agent did, shaped like the canonical envelope's eventType + data. formats.ts turns one intent into
 * one wire record; keeping intents format-free is what lets one session mix PolicyEvents and hushd records.
 */
export type Action =
  | { eventType: 'file_read'; path: string }
  | { eventType: 'file_write'; path: string; content: string }
  | { eventType: 'network_egress'; host: string; port: number; protocol: string; url?: string }
  | { eventType: 'command_exec'; command: string; args: string[]; workingDir?: string }
  | { eventType: 'patch_apply'; filePath: string; patchContent: string }
  | { eventType: 'tool_call'; toolName: string; parameters: Record<string, unknown>; mcpProvider?: string }
  | { eventType: 'secret_access'; secretName: string; scope: string }
  | { eventType: 'custom'; customType: string; text: string };

/** MITRE-style labels hushd puts in a SecurityEvent's `threat`. */
export interface ThreatLabel {
  tactic: string;
  technique: string;
}

/** One thing an agent does, before it is given an id, a time and a session. */
export interface Draft {
  action: Action;
  /** The guard verdict attached to the event; absent when nothing judged it. */
  decision?: Decision;
  /** Emit only as a PolicyEvent: the evidence is in fields hushd's records do not carry. */
  policyEventOnly?: boolean;
  threat?: ThreatLabel;
}

/** Who runs the agent; hushd's SecurityEvents and PolicyEvent metadata carry parts of it. */
export interface AgentProfile {
  agentId: string;
  user: string;
  home: string;
  /** The coding assistant: which LLM endpoint it calls and what its adapter writes as metadata.source. */
  tool: AgentTool;
  team: string;
  environment: 'dev' | 'ci';
}

export interface AgentTool {
  name: string;
  llmHost: string;
  llmPath: string;
  emitter: string;
  /** How this tool's SDK spells PolicyEvent ids: `evt_<uuidv7>` or `evt-<ms>-<rand>`. */
  idStyle: 'uuid' | 'millis';
}

/** A draft placed in time: envelope-shaped, ready to encode. */
export interface Intent extends Draft {
  /** A UUIDv7: hushd records use it as is, PolicyEvents wrap it in the agent's id style. */
  eventId: string;
  timestamp: number;
  agent: AgentProfile;
  sessionId: string;
  attack?: AttackName;
}

// --- constructors shared by benign work and attacks --------------------------------------------------

export function fileRead(path: string): Action {
  return { eventType: 'file_read', path };
}

export function fileWrite(path: string, content: string): Action {
  return { eventType: 'file_write', path, content };
}

export function egress(host: string, port = 443, path?: string): Action {
  const action: Action = {
    eventType: 'network_egress',
    host,
    port,
    protocol: port === 443 ? 'https' : 'tcp',
  };
  if (path !== undefined) action.url = `https://${host}${path}`;
  return action;
}

/** A command as command_exec: a line splits on spaces (command, then args); an array is the argv itself. */
export function commandExec(line: string | readonly string[], workingDir?: string): Action {
  const [command, ...args] = typeof line === 'string' ? line.split(' ') : line;
  const action: Action = { eventType: 'command_exec', command: command!, args };
  if (workingDir !== undefined) action.workingDir = workingDir;
  return action;
}

/** The same command line as an assistant's shell tool call (`parameters.command`). */
export function shellTool(line: string, cwd?: string): Action {
  const parameters: Record<string, unknown> = { command: line };
  if (cwd !== undefined) parameters.cwd = cwd;
  return { eventType: 'tool_call', toolName: 'shell_exec', parameters };
}

export function toolCall(toolName: string, parameters: Record<string, unknown>): Action {
  return { eventType: 'tool_call', toolName, parameters };
}

/** An MCP call: toolName `mcp__<server>__<tool>`, its provider recorded as metadata.toolProvider. */
export function mcpTool(server: string, tool: string, parameters: Record<string, unknown>): Action {
  return {
    eventType: 'tool_call',
    toolName: `mcp__${server}__${tool}`,
    parameters,
    mcpProvider: `${server}-mcp`,
  };
}

export function patchApply(filePath: string, patchContent: string): Action {
  return { eventType: 'patch_apply', filePath, patchContent };
}

export function secretAccess(secretName: string, scope: string): Action {
  return { eventType: 'secret_access', secretName, scope };
}

export function customText(customType: string, text: string): Action {
  return { eventType: 'custom', customType, text };
}

export function allowed(guard?: string): Decision {
  return guard ? { outcome: 'allow', guard, severity: 'info' } : { outcome: 'allow', severity: 'info' };
}

export function denied(guard: string, severity: Severity, message: string): Decision {
  return { outcome: 'deny', guard, severity, message };
}

export function warned(guard: string, message: string): Decision {
  return { outcome: 'warn', guard, severity: 'medium', message };
}
