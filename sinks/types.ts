import type { Report } from '../core/reports.ts';
import type { ResponseAction } from '../core/response-actions.ts';
import type { Severity } from '../core/severity.ts';
import type { Alert } from '../engine/alert.ts';
import type { Envelope } from '../engine/model/index.ts';

export const ITEM_KINDS = ['event', 'alert'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

/** What a sink is handed: a normalized event or an alert, tagged by kind. */
export type SinkItem = { kind: 'event'; event: Envelope } | { kind: 'alert'; alert: Alert };

export function itemId(item: SinkItem): string {
  return item.kind === 'event' ? item.event.eventId : item.alert.alertId;
}

export function itemSeverity(item: SinkItem): Severity {
  return item.kind === 'event' ? item.event.decision.severity : item.alert.severity;
}

/** Event time: what daily indices and HEC `time` are based on. */
export function itemTimestamp(item: SinkItem): string {
  return item.kind === 'event' ? item.event.timestamp : item.alert.timestamp;
}

export function itemPayload(item: SinkItem): Envelope | Alert {
  return item.kind === 'event' ? item.event : item.alert;
}

/**
 * The destination's verdict on one item of a batch. Only `permanent` (and a `refused` item left alone) ever
 * becomes a dead letter on a blocking route: everything else is waited out (docs/sinks.md, "Failures").
 * `code` is a short, bounded name of the failure (an Elasticsearch error type, `http_400`, `hec_6`): the
 * `reason` label of the dead-letter metric.
 */
export type ItemOutcome = (
  | { status: 'written' }
  | { status: 'duplicate' }
  /**
   * Failed for now: the destination is down, overloaded or recovering. `suspect` when the failure may come
   * from the item itself (an unexpected 5xx on one document): such failures count against
   * `retry.attempts`; the others never do on a blocking route.
   */
  | { status: 'retryable'; reason: string; retryAfterMs?: number; suspect?: boolean }
  /** The destination takes no writes until an operator acts (credentials, permissions, a read-only folder). */
  | { status: 'blocked'; reason: string }
  /** The request this item came in was refused as a whole, which any of its items may have caused. */
  | { status: 'refused'; reason: string; code?: string }
  /** This item can never be written. */
  | { status: 'permanent'; reason: string; code?: string }
) & {
  /** The HTTP status the destination answered for this item, where it answered (webhooks report it). */
  httpStatus?: number;
};

/** What a probe found: whether the destination can take writes now. */
export type ProbeResult = { state: 'ok' } | { state: 'down' | 'unusable'; reason: string };

export const WRITTEN: ItemOutcome = Object.freeze({ status: 'written' });
export const DUPLICATE: ItemOutcome = Object.freeze({ status: 'duplicate' });

/**
 * What a sink promises once it reports `written` (docs/components.md):
 * - `at-least-once`: confirmed by the destination; a retry may store an item twice.
 * - `exactly-once-storage`: confirmed, and the destination drops redeliveries (deterministic ids).
 * - `local-write`: handed to the OS or a stream; nothing downstream confirms it.
 */
export type DeliveryGuarantee = 'at-least-once' | 'exactly-once-storage' | 'local-write';

/**
 * One destination. `write` never throws for destination failures: it reports them per item, in the order
 * of `items`, and leaves retrying, backoff and dead-lettering to the shared driver.
 */
export interface Sink {
  readonly name: string;
  readonly guarantee: DeliveryGuarantee;
  /** Narrows routing beyond kind and severity (webhooks: only alerts that ask for this sink's action). */
  accepts?(item: SinkItem): boolean;
  start?(): Promise<void>;
  write(items: readonly SinkItem[]): Promise<ItemOutcome[]>;
  /**
   * Checks the destination without writing an item (Elasticsearch cluster health, the file sink opening its
   * files): at start, when a failure begins, and while the route is not ready. It never throws.
   */
  probe?(): Promise<ProbeResult>;
  /** Sink-specific counters for health output (e.g. circuit breaker states). */
  stats?(): Record<string, unknown>;
  /**
   * A response webhook's action: the router tells its outcome listener (`SinkRouter.onOutcome`) how such a
   * sink finalized each item, so the console shows each automated action's delivery.
   */
  readonly responseAction?: ResponseAction;
  /**
   * Stores processor reports (rule counts, action deliveries: core/reports.ts) for the console; the sinks the
   * console reads (SQLite, Elasticsearch) have it. Throws when they are not stored: the router keeps them
   * and tries again (`SinkRouter.report`). Storing the same report twice keeps one.
   */
  writeReports?(reports: readonly Report[]): Promise<void>;
  close?(): Promise<void>;
}

export interface RetryPolicy {
  /**
   * Blocking routes: how often an item may fail on its own (a `suspect` failure) before it is dead-lettered;
   * outages use none. Detached routes: attempts in all, the first included.
   */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface DeliveryPolicy {
  /** Items per `write` call. */
  batchSize: number;
  /** `write` calls in flight at once for this route. */
  concurrency: number;
  /** Items accepted but not finalized before the route reports saturation (or, detached, overflows). */
  maxPendingItems: number;
  retry: RetryPolicy;
  /**
   * A detached route (webhooks) runs on its own bounded queue: it never makes the router report saturation,
   * and items that find the queue full are dead-lettered at once instead of waiting. Its retries are
   * bounded by `retry.attempts`, outages included, so a dead control API cannot hold a batch for long.
   */
  detached: boolean;
  /** A route failing (outage) for this long reports not ready; a `blocked` or unusable one at once. */
  notReadyAfterMs: number;
  /** How often a failing or unusable route is probed while nothing else tells whether it recovered. */
  probeIntervalMs: number;
}

/** A sink plus what it receives and how it is driven. */
export interface Route {
  sink: Sink;
  kinds: readonly ItemKind[];
  minSeverity: Severity;
  delivery: DeliveryPolicy;
  /** false: this route gets the items as the engine saw them, secrets included (transforms/ redaction). */
  redact?: boolean;
}

/** The subset of a pino logger the sinks use. */
export interface SinkLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** For embedding the router where nothing should be logged (tests, benchmarks). */
export const SILENT_LOGGER: SinkLogger = { info() {}, warn() {}, error() {} };
