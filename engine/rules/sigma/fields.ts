import type { Condition } from '../schema.ts';

/**
 * How Sigma's logsource and field names map onto our events (the table is in docs/sigma.md). A rule names
 * `product: clawdstrike` (or `hushd`) and a `category` that is one of our eventTypes or a Sigma taxonomy
 * category below; its fields are our fact names, the Sigma taxonomy names below, or names an operator maps
 * in config (processor.sigmaFieldMapping), as a pySigma processing pipeline would.
 */
export const SIGMA_PRODUCTS = ['clawdstrike', 'hushd'] as const;

const isEventType = (eventType: string): Condition => ({
  fact: 'eventType',
  operator: 'equal',
  value: eventType,
});

/** A shell command arrives as command_exec or as a tool_call carrying parameters.command (FORMATS.md). */
const PROCESS_CREATION: Condition = {
  any: [
    isEventType('command_exec'),
    { all: [isEventType('tool_call'), { not: { fact: 'commandLine', operator: 'in', value: [undefined] } }] },
  ],
};

/** Sigma taxonomy categories and the events they select. */
export const SIGMA_CATEGORIES: Readonly<Record<string, Condition>> = {
  process_creation: PROCESS_CREATION,
  file_access: isEventType('file_read'),
  file_event: isEventType('file_write'),
  network_connection: isEventType('network_egress'),
};

/** Sigma taxonomy field names, per category they belong to; our own fact names work in every category. */
export const SIGMA_TAXONOMY_FIELDS: Readonly<Record<string, string>> = {
  CommandLine: 'commandLine',
  Image: 'data.command',
  CurrentDirectory: 'data.workingDir',
  TargetFilename: 'data.path',
  DestinationHostname: 'data.host',
  DestinationIp: 'data.host',
  DestinationPort: 'data.port',
  Protocol: 'data.protocol',
  User: 'agentId',
};

/**
 * Fields a keyword (field-less) detection searches: the event's text fields, as a full-text search over the
 * event would. Absent fields are skipped.
 */
export const KEYWORD_FIELDS = [
  'target',
  'commandLine',
  'data.path',
  'data.filePath',
  'data.host',
  'data.url',
  'data.toolName',
  'data.secretName',
  'data.text',
  'decision.guard',
  'decision.message',
  'decision.reason',
] as const;

/** Our fact for a Sigma field name: the operator's mapping first, then the taxonomy, else the name itself. */
export function mapField(name: string, mapping: Readonly<Record<string, string>>): string {
  return mapping[name] ?? SIGMA_TAXONOMY_FIELDS[name] ?? name;
}
