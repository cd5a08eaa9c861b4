import { z } from 'zod';
import { EdrError } from '../../core/errors.ts';
import type { ActionDeliveryReport } from '../../core/reports.ts';
import type { Alert } from '../../engine/alert.ts';
import type {
  AlertFilter,
  AlertQuery,
  AlertRecord,
  ResponseActionRecord,
  SeriesQuery,
  WorkflowChange,
  WorkflowState,
} from './types.ts';

/** What both stores share: cursors, the free-text words, bucket arithmetic and workflow semantics. */

/** A keyset position: the sort values of the last item of a page, its id last. */
export type KeyValues = Array<number | string>;

const CursorSchema = z.strictObject({
  /** What the cursor was made for: a cursor of another sort or page kind is refused. */
  for: z.string().max(64),
  after: z
    .array(z.union([z.number(), z.string().max(1_024)]))
    .min(1)
    .max(4),
});

export function encodeCursor(kind: string, after: KeyValues): string {
  return Buffer.from(JSON.stringify({ for: kind, after })).toString('base64url');
}

/** The keyset values of a cursor this kind of page made, of the expected shape; anything else is a 400. */
export function decodeCursor(
  cursor: string,
  kind: string,
  shape: ReadonlyArray<'number' | 'string'>,
): KeyValues {
  let parsed: z.infer<typeof CursorSchema> | undefined;
  try {
    parsed = CursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    parsed = undefined;
  }
  const fits =
    parsed?.for === kind &&
    parsed.after.length === shape.length &&
    parsed.after.every((value, index) => typeof value === shape[index]);
  if (!parsed || !fits) throw new EdrError('EDR_ERR_BAD_REQUEST', 'cursor does not belong to this query');
  return parsed.after;
}

export function alertCursorKind(query: Pick<AlertQuery, 'sort' | 'order'>): string {
  return `alerts:${query.sort}:${query.order}`;
}

/** timestamp: [ms, alertId]; severity and riskScore: [value, ms, alertId]. */
export function alertKeyShape(query: Pick<AlertQuery, 'sort'>): Array<'number' | 'string'> {
  return query.sort === 'timestamp' ? ['number', 'string'] : ['number', 'number', 'string'];
}

export const TIMELINE_CURSOR = 'timeline';
export const TIMELINE_KEY_SHAPE: Array<'number' | 'string'> = ['number', 'string'];

/** One free-text word: lowercased for substrings, as typed for whole ids. */
export interface TextWord {
  lower: string;
  exact: string;
}

/** The query words (whitespace-separated): each must match (types.ts AlertFilterSchema). At most 16. */
export function textWords(filter: Pick<AlertFilter, 'text'>): TextWord[] {
  if (!filter.text) return [];
  const words = filter.text.split(/\s+/).filter(Boolean);
  if (words.length > 16) throw new EdrError('EDR_ERR_BAD_REQUEST', 'at most 16 words of free text');
  return words.map((exact) => ({ lower: exact.toLowerCase(), exact }));
}

/** The whole filter over one record in memory (the live feed), as the stores apply it. */
export function matchesAlertFilter(record: AlertRecord, filter: AlertFilter): boolean {
  const { alert, workflow } = record;
  const within = <T>(values: readonly T[] | undefined, value: T) => !values || values.includes(value);
  if (!within(filter.severity, alert.severity) || !within(filter.ruleId, alert.ruleId)) return false;
  if (!within(filter.agentId, alert.agentId) || !within(filter.sessionId, alert.sessionId)) return false;
  if (filter.from && Date.parse(alert.timestamp) < Date.parse(filter.from)) return false;
  if (filter.to && Date.parse(alert.timestamp) >= Date.parse(filter.to)) return false;
  if (!workflowMatches(workflow, filter)) return false;
  const searched = [alert.ruleId, alert.ruleName, ...alert.tags, alert.summary].map((field) =>
    field.toLowerCase(),
  );
  const ids = [alert.alertId, alert.agentId, alert.sessionId];
  return textWords(filter).every(
    (word) => ids.includes(word.exact) || searched.some((field) => field.includes(word.lower)),
  );
}

/** Bucket starts (epoch ms) of a series query. */
export function bucketStarts(query: SeriesQuery): number[] {
  const from = Date.parse(query.from);
  const to = Date.parse(query.to);
  const starts: number[] = [];
  for (let at = from; at < to; at += query.bucketMs) starts.push(at);
  return starts;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

export const OPEN_STATE: Readonly<WorkflowState> = Object.freeze({
  status: 'open',
  verdict: null,
  assignee: null,
  updatedAt: null,
  updatedBy: null,
});

/** The state after a change: keys the change leaves out keep their value. */
export function applyChange(
  state: WorkflowState,
  change: WorkflowChange,
  user: string,
  at: string,
): WorkflowState {
  return {
    status: change.status ?? state.status,
    verdict: change.verdict === undefined ? state.verdict : change.verdict,
    assignee: change.assignee === undefined ? state.assignee : change.assignee,
    updatedAt: at,
    updatedBy: user,
  };
}

/** Whether the filter says anything about workflow state (else every state passes). */
export function filtersWorkflow(filter: AlertFilter): boolean {
  return Boolean(filter.status || filter.verdict || filter.assignee || filter.unassigned);
}

/** The workflow part of a filter, for a store that cannot filter workflow state where the alerts are. */
export function workflowMatches(state: WorkflowState, filter: AlertFilter): boolean {
  if (filter.status && !filter.status.includes(state.status)) return false;
  if (filter.verdict && (state.verdict === null || !filter.verdict.includes(state.verdict))) return false;
  if (filter.assignee || filter.unassigned) {
    const assigned = state.assignee !== null && (filter.assignee?.includes(state.assignee) ?? false);
    const unassigned = filter.unassigned === true && state.assignee === null;
    if (!assigned && !unassigned) return false;
  }
  return true;
}

/**
 * Whether only alerts somebody changed can match (a status other than open, a verdict, an assignee without
 * `unassigned`): an untouched alert is open, unassigned and has no verdict.
 */
export function needsWorkflowChange(filter: AlertFilter): boolean {
  return !workflowMatches(OPEN_STATE, filter);
}

/** What a store keeps of a delivery report (the alert id is the one asked about). */
export type StoredDelivery = Omit<ActionDeliveryReport, 'kind' | 'alertId'>;

/**
 * The records of the actions the rule asked for: per action, one per webhook route that reported its
 * delivery (by route name), or one `requested` record, as of when the alert was detected, while none did.
 */
export function ruleActionRecords(
  alert: Alert,
  deliveries: readonly StoredDelivery[],
): ResponseActionRecord[] {
  return alert.actions.flatMap((action) => {
    const requested: ResponseActionRecord = {
      alertId: alert.alertId,
      action,
      origin: 'rule',
      user: null,
      idempotencyKey: null,
      status: 'requested',
      detail: null,
      attempts: null,
      httpStatus: null,
      requestedAt: alert.detectedAt,
      updatedAt: alert.detectedAt,
    };
    const reported = deliveries
      .filter((delivery) => delivery.action === action)
      .sort((a, b) => a.sink.localeCompare(b.sink));
    if (reported.length === 0) return [requested];
    return reported.map((delivery) => ({
      ...requested,
      status: delivery.status,
      detail: `${delivery.sink}: ${delivery.detail ?? `HTTP ${delivery.httpStatus ?? '-'}`}`.slice(0, 1_000),
      attempts: delivery.attempts,
      httpStatus: delivery.httpStatus,
      updatedAt: delivery.at,
    }));
  });
}

/**
 * Contributing events in the order of the alert's eventIds. When agents share an eventId, the alert's own
 * agent's event is taken, else the lowest agentId's, so both stores pick the same one.
 */
export function orderContributing<T extends { eventId: string; agentId: string }>(
  alert: Alert,
  found: readonly T[],
): { events: T[]; missingEventIds: string[] } {
  const byId = new Map<string, T>();
  for (const event of found) {
    const held = byId.get(event.eventId);
    if (!held || preferred(event, held, alert.agentId)) byId.set(event.eventId, event);
  }
  const events: T[] = [];
  const missingEventIds: string[] = [];
  for (const id of alert.eventIds) {
    const event = byId.get(id);
    if (event) events.push(event);
    else missingEventIds.push(id);
  }
  return { events, missingEventIds };
}

function preferred(event: { agentId: string }, held: { agentId: string }, agentId: string): boolean {
  if ((event.agentId === agentId) !== (held.agentId === agentId)) return event.agentId === agentId;
  return event.agentId < held.agentId;
}
