import { z } from 'zod';
import { ResponseActionSchema } from './response-actions.ts';

/**
 * What the processor reports beside events and alerts, for the console stores (the SQLite and Elasticsearch
 * sinks write them; docs/components.md, "Reports"): per-rule counts the engine keeps, and how each automated
 * response webhook ended. Here because the processor, the sinks and the console all read them.
 */

const IdSchema = z.string().min(1).max(512);

/** Alerts raised and alerts suppressed by one rule on one partition since the previous report. */
export const RuleCountsReportSchema = z.object({
  kind: z.literal('rule_counts'),
  /** Unique per (processor process, partition, report, rule): a rewrite of the same report stores it once. */
  id: z.string().min(1).max(1_024),
  ruleId: IdSchema,
  partition: z.string().max(512),
  /** The partition's event time when the counts were taken (the hits chart is on event time too). */
  at: z.iso.datetime(),
  alerts: z.int().min(0),
  suppressed: z.int().min(0),
});
export type RuleCountsReport = z.infer<typeof RuleCountsReportSchema>;

export const DELIVERY_STATUSES = ['delivered', 'failed'] as const;

/** How one webhook route finalized one alert's action: written (or a duplicate the receiver knew), or dead-lettered. */
export const ActionDeliveryReportSchema = z.object({
  kind: z.literal('action_delivery'),
  alertId: IdSchema,
  action: ResponseActionSchema,
  /** The webhook route (`<sink>.<action>`). */
  sink: z.string().min(1).max(256),
  status: z.enum(DELIVERY_STATUSES),
  /** Requests that carried it (0: dead-lettered before any, e.g. the route's queue was full). */
  attempts: z.int().min(0),
  /** The last HTTP status the receiver answered, when it answered. */
  httpStatus: z.int().min(100).max(599).nullable(),
  /** Why it failed (the dead letter's code and reason), bounded. */
  detail: z.string().max(1_000).nullable(),
  at: z.iso.datetime(),
});
export type ActionDeliveryReport = z.infer<typeof ActionDeliveryReportSchema>;

export type Report = RuleCountsReport | ActionDeliveryReport;
