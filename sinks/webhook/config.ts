import { z } from 'zod';
import { RESPONSE_ACTIONS } from '../../core/response-actions.ts';
import { SeveritySchema } from '../../core/severity.ts';
import { deliverySchema, TlsSchema } from '../shared/config.ts';
import { ALERT_URL_FIELDS, placeholders } from './url-template.ts';

const SecretSchema = z.string().min(16).describe('HMAC-SHA256 signing key (16 characters at least)');

export const WebhookTargetSchema = z.object({
  url: z
    .string()
    .min(1)
    .describe(
      `URL template: {var} from \`vars\` (verbatim) or alert fields (URL-encoded): ${ALERT_URL_FIELDS.join(', ')}`,
    ),
  method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
  headers: z.record(z.string(), z.string()).default({}).describe('extra request headers'),
  secret: SecretSchema.optional().describe('signing key for this target (default: the sink secret)'),
  timeoutMs: z.int().min(1).optional().describe('request timeout (default: the sink timeoutMs)'),
});
export type WebhookTarget = z.infer<typeof WebhookTargetSchema>;

export const WebhookSinkConfigSchema = z
  .object({
    type: z.literal('webhook'),
    name: z.string().min(1).optional().describe('unique sink name; routes are named <name>.<action>'),
    minSeverity: SeveritySchema.default('info').describe('alerts below this severity trigger no webhook'),
    vars: z
      .record(z.string(), z.string())
      .default({})
      .describe('values for URL templates, e.g. {"agentControlApi": "https://control.example"}'),
    secret: SecretSchema.optional(),
    timeoutMs: z.int().min(1).default(10_000),
    actions: z
      .partialRecord(z.enum(RESPONSE_ACTIONS), WebhookTargetSchema)
      .describe(
        `a target per response action: ${RESPONSE_ACTIONS.join(', ')}; unlisted actions send nothing`,
      ),
    circuitBreaker: z
      .object({
        failureThreshold: z.int().min(1).default(5),
        openMs: z.int().min(1).default(30_000),
      })
      .prefault({})
      .describe('per endpoint (scheme://host:port)'),
    tls: TlsSchema,
    delivery: deliverySchema({ batchSize: 1, concurrency: 4, maxPendingItems: 1_000 }),
  })
  .superRefine((config, context) => {
    for (const [action, target] of Object.entries(config.actions)) {
      if (!target) continue;
      if (!target.secret && !config.secret) {
        context.addIssue({
          code: 'custom',
          path: ['actions', action, 'secret'],
          message: 'every webhook is signed: set `secret` on the target or on the sink',
        });
      }
      for (const name of placeholders(target.url)) {
        if (!(name in config.vars) && !(ALERT_URL_FIELDS as readonly string[]).includes(name)) {
          context.addIssue({
            code: 'custom',
            path: ['actions', action, 'url'],
            message: `unknown placeholder {${name}}`,
          });
        }
      }
    }
    for (const name of Object.keys(config.vars)) {
      if ((ALERT_URL_FIELDS as readonly string[]).includes(name)) {
        context.addIssue({ code: 'custom', path: ['vars', name], message: 'shadows an alert field' });
      }
    }
  })
  .describe('signed response webhooks, one target per alert action; delivered off the ingestion path');

export type WebhookSinkConfig = z.infer<typeof WebhookSinkConfigSchema>;
