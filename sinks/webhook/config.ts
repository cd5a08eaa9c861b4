import { z } from 'zod';
import { RESPONSE_ACTIONS } from '../../core/response-actions.ts';
import { SeveritySchema } from '../../core/severity.ts';
import { deliverySchema, redactSchema, TlsSchema } from '../shared/config.ts';
import { MAX_SIGNING_KEYS, secretProblem } from './signature.ts';
import { ALERT_URL_FIELDS, compileUrlTemplate, isAlertUrlField, placeholders } from './url-template.ts';

const SigningKeySchema = z.string().superRefine((secret, context) => {
  const problem = secretProblem(secret);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});

const SecretSchema = z
  .union([SigningKeySchema, z.array(SigningKeySchema).min(1).max(MAX_SIGNING_KEYS)])
  .describe(
    `Standard Webhooks signing key(s): whsec_ + base64 of 24 to 64 random bytes (v1, HMAC-SHA256) or whsk_ + base64 of a 32-byte ed25519 private key (v1a); a list of up to ${MAX_SIGNING_KEYS} during a rotation signs with each`,
  );

export const WebhookTargetSchema = z.object({
  url: z
    .string()
    .min(1)
    .describe(
      `URL template: {var} from \`vars\` (verbatim) or, in the path or query, alert fields (percent-encoded): ${ALERT_URL_FIELDS.join(', ')}`,
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
    redact: redactSchema,
    vars: z
      .record(z.string(), z.string())
      .default({})
      .describe('values for URL templates, e.g. {"agentControlApi": "https://control.example"}'),
    secret: SecretSchema.optional(),
    timeoutMs: z.int().min(1).default(10_000),
    maxUrlBytes: z
      .int()
      .min(64)
      .default(4_096)
      .describe(
        'longest rendered URL; a longer one fails at the alert (dead letter naming the longest field)',
      ),
    maxUrlFieldBytes: z
      .int()
      .min(16)
      .default(1_024)
      .describe('longest alert field in a URL once percent-encoded; a longer one fails at the alert'),
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
      const unknown = placeholders(target.url).filter(
        (name) => !(name in config.vars) && !isAlertUrlField(name),
      );
      for (const name of unknown) {
        context.addIssue({
          code: 'custom',
          path: ['actions', action, 'url'],
          message: `unknown placeholder {${name}}`,
        });
      }
      const compiled = compileUrlTemplate(target.url, config.vars);
      if (unknown.length === 0 && !compiled.ok) {
        context.addIssue({ code: 'custom', path: ['actions', action, 'url'], message: compiled.error });
      }
    }
    for (const name of Object.keys(config.vars)) {
      if (isAlertUrlField(name)) {
        context.addIssue({ code: 'custom', path: ['vars', name], message: 'shadows an alert field' });
      }
    }
  })
  .describe('signed response webhooks, one target per alert action; delivered off the ingestion path');

export type WebhookSinkConfig = z.infer<typeof WebhookSinkConfigSchema>;
