import { generate } from '../generate.ts';
import type { Envelope } from '../model/index.ts';
import { EnvelopeSchema } from '../model/index.ts';

/**
 * Facts a condition can read, resolved once at load time into direct property reads.
 * - envelope fields: `eventType`, `target`, `agentId`, `data`, `decision`, `metadata`, ...
 * - `commandLine`: the shell command of a command_exec (its target) or of a tool_call (`data.parameters.command`),
 *   since FORMATS.md lets a shell command arrive either way; undefined for other events
 * - `executable`: the program that command line runs, its first word as sent (a path stays a path)
 * - `session.*` (engine/sessions.ts), `intel.*` (engine/enrichment/intel.ts), `asset.*` (inventory record)
 * A dotted fact name reads nested fields: `data.path` is the fact `data` with path `$.path`.
 * `path` is json-rules-engine's JSONPath, limited to property and index steps (`$.a.b`, `$.a[0]`, `$['x-y']`);
 * each step follows an own property only, as jsonpath-plus does, and like json-rules-engine the path is
 * applied only when the fact holds an object (otherwise the fact's value is used as it is).
 */
export interface FactContext {
  readonly event: Envelope;
  readonly session: object;
  /** Computed on first use per event: most rules never ask. */
  intel(): object;
  /** The agent's inventory record; looked up on first use per event, like intel. */
  asset(): object;
  /** `agentId|sessionId`, the default group key; built once per session. */
  sessionKey(): string;
}

export type Accessor = (context: FactContext) => unknown;

/** Names under `session.`; see engine/sessions.ts for their meaning. */
export const SESSION_FACTS = [
  'agentId',
  'sessionId',
  'firstSeen',
  'lastSeen',
  'durationMs',
  'eventCount',
  'violationCount',
  'warnCount',
  'distinctTargets',
  'distinctTargetRatio',
  'alertCount',
  'riskScore',
] as const;

/** Names under `intel.`; see engine/enrichment/intel.ts. */
export const INTEL_FACTS = ['matched', 'fields', 'types', 'indicators', 'sources', 'matches'] as const;

const ENVELOPE_FIELDS: ReadonlySet<string> = new Set(Object.keys(EnvelopeSchema.shape));
const SUBFIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  session: new Set(SESSION_FACTS),
  intel: new Set(INTEL_FACTS),
};

export type FactRoot = 'envelope' | 'session' | 'intel' | 'asset';

export interface ResolvedFact {
  root: FactRoot;
  accessor: Accessor;
}

function step(value: unknown, key: string): unknown {
  return value && Object.hasOwn(value as object, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * Reads `keys` below what `root` returns, following own properties only. Generated per key list (see
 * engine/generate.ts), the keys JSON-quoted, so each property read has its own inline cache: one shared
 * `value[key]` read saw every path of every rule and went megamorphic.
 */
function nested<I>(root: (input: I) => unknown, keys: readonly string[]): (input: I) => unknown {
  if (keys.length === 0) return root;
  const steps = keys.map((key) => {
    const literal = JSON.stringify(key);
    return `if (!value || !Object.hasOwn(value, ${literal})) return undefined; value = value[${literal}];`;
  });
  return generate<(input: I) => unknown>(
    `(input) => { let value = f0(input);\n${steps.join('\n')}\nreturn value; }`,
    [root],
  );
}

const PATH_STEP = /^(?:\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\])/;

/** Parses a JSONPath made of property and index steps into keys. */
export function parseJsonPath(path: string): string[] | string {
  if (!path.startsWith('$')) return `path must start with "$", got ${JSON.stringify(path)}`;
  const keys: string[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    const match = PATH_STEP.exec(rest);
    if (!match) {
      return `unsupported JSONPath ${JSON.stringify(path)}: only property and index steps ($.a.b, $.a[0], $['x-y']) are supported`;
    }
    keys.push((match[1] ?? match[2] ?? match[3] ?? match[4]!).replace(/\\(.)/g, '$1'));
    rest = rest.slice(match[0].length);
  }
  if (keys.length === 0) return 'path must select a property, e.g. "$.host"';
  return keys;
}

const commandLine: Accessor = ({ event }) => {
  if (event.eventType === 'command_exec') return event.target;
  if (event.eventType !== 'tool_call') return undefined;
  const command = step(event.data.parameters, 'command');
  return typeof command === 'string' ? command : undefined;
};

/** Anchored, and its two classes never overlap: linear in the line, whatever the line. */
const FIRST_WORD = /^\s*(\S+)/;
const executable: Accessor = (context) => {
  const line = commandLine(context);
  return typeof line === 'string' ? FIRST_WORD.exec(line)?.[1] : undefined;
};

/**
 * One function per field, so each property read has its own inline cache; a shared `event[field]` read saw
 * every field and went megamorphic.
 */
const ENVELOPE_ACCESSORS: { readonly [K in keyof Envelope]-?: Accessor } = {
  schemaVersion: ({ event }) => event.schemaVersion,
  eventId: ({ event }) => event.eventId,
  timestamp: ({ event }) => event.timestamp,
  receivedAt: ({ event }) => event.receivedAt,
  agentId: ({ event }) => event.agentId,
  sessionId: ({ event }) => event.sessionId,
  runId: ({ event }) => event.runId,
  eventType: ({ event }) => event.eventType,
  originalType: ({ event }) => event.originalType,
  target: ({ event }) => event.target,
  data: ({ event }) => event.data,
  decision: ({ event }) => event.decision,
  source: ({ event }) => event.source,
  metadata: ({ event }) => event.metadata,
  policyHash: ({ event }) => event.policyHash,
  integrity: ({ event }) => event.integrity,
};

function rootAccessor(name: string): { root: FactRoot; accessor: Accessor } | undefined {
  switch (name) {
    case 'session':
      return { root: 'session', accessor: (context) => context.session };
    case 'intel':
      return { root: 'intel', accessor: (context) => context.intel() };
    case 'asset':
      return { root: 'asset', accessor: (context) => context.asset() };
    case 'commandLine':
      return { root: 'envelope', accessor: commandLine };
    case 'executable':
      return { root: 'envelope', accessor: executable };
    default:
      return ENVELOPE_FIELDS.has(name)
        ? { root: 'envelope', accessor: ENVELOPE_ACCESSORS[name as keyof Envelope] }
        : undefined;
  }
}

/** Resolves a fact name and optional JSONPath to an accessor, or says why it cannot. */
export function resolveFact(fact: string, path?: string): ResolvedFact | string {
  const [head, ...keys] = fact.split('.');
  const base = rootAccessor(head!);
  if (!base) {
    return `unknown fact ${JSON.stringify(fact)}: facts are envelope fields (${[...ENVELOPE_FIELDS].join(', ')}), commandLine, executable, session.*, intel.* or asset.*`;
  }
  const known = SUBFIELDS[head!];
  if (known && keys.length > 0 && !known.has(keys[0]!)) {
    return `unknown fact ${JSON.stringify(fact)}: ${head}.* is one of ${[...known].join(', ')}`;
  }
  if (keys.some((key) => key === '')) return `malformed fact name ${JSON.stringify(fact)}`;
  const accessor = nested(base.accessor, keys);
  if (path === undefined) return { root: base.root, accessor };
  const pathKeys = parseJsonPath(path);
  if (typeof pathKeys === 'string') return pathKeys;
  const withPath = nested((value: unknown) => value, pathKeys);
  return {
    root: base.root,
    accessor: (context) => {
      const value = accessor(context);
      return value !== null && typeof value === 'object' ? withPath(value) : value;
    },
  };
}
