import { z } from 'zod';
import { type ConfigInputs, type ConfigOverride, ENV_PREFIX, loadConfig } from '../core/config.ts';
import { ElasticsearchSinkConfigSchema, SinksConfigSchema } from '../sinks/index.ts';
import { TransportConfigSchema } from '../transport/index.ts';

export const SetupSettingsSchema = z
  .strictObject({
    kibanaUrl: z
      .url()
      .default('http://127.0.0.1:5601')
      .describe('Kibana base URL (a base path is kept); also --kibana'),
    elasticsearchUrl: z
      .url()
      .optional()
      .describe(
        "Elasticsearch for the index templates; default: the first elasticsearch sink's node; also --elasticsearch",
      ),
    kibanaAuth: ElasticsearchSinkConfigSchema.shape.auth.describe(
      "Kibana credentials, API key or basic; default: the elasticsearch sink's auth (Kibana accepts the same users)",
    ),
    waitTimeoutMs: z
      .int()
      .positive()
      .default(180_000)
      .describe('how long each of Elasticsearch, Kibana and the broker may take to come up'),
  })
  .prefault({});

/** `clawdstrike-edr setup`'s part of the shared config file; `transport` and `sinks` are shared. */
export const SetupConfigSchema = z.object({
  transport: TransportConfigSchema.prefault({}),
  sinks: SinksConfigSchema.prefault({}),
  setup: SetupSettingsSchema,
});
export type SetupConfig = z.infer<typeof SetupConfigSchema>;
export type SetupSettings = z.infer<typeof SetupSettingsSchema>;

export interface SetupFlags {
  elasticsearch?: string;
  kibana?: string;
  timeoutSeconds?: string;
}

/** File (CLAWDSTRIKE_EDR_CONFIG or --config) < CLAWDSTRIKE_EDR_<SECTION>__<KEY> env < flags. Throws EDR_ERR_CONFIG. */
export function loadSetupConfig(inputs: ConfigInputs = {}, flags: SetupFlags = {}): SetupConfig {
  const overrides: ConfigOverride[] = [...(inputs.overrides ?? [])];
  if (flags.elasticsearch !== undefined)
    overrides.push({
      path: ['setup', 'elasticsearchUrl'],
      value: flags.elasticsearch,
      origin: '--elasticsearch',
    });
  if (flags.kibana !== undefined)
    overrides.push({ path: ['setup', 'kibanaUrl'], value: flags.kibana, origin: '--kibana' });
  if (flags.timeoutSeconds !== undefined) {
    // The schema counts milliseconds; a non-number is left for it to reject with the flag named.
    const seconds = Number(flags.timeoutSeconds);
    const value =
      flags.timeoutSeconds.trim() !== '' && Number.isFinite(seconds) ? seconds * 1000 : flags.timeoutSeconds;
    overrides.push({ path: ['setup', 'waitTimeoutMs'], value, origin: '--timeout' });
  }
  return loadConfig(SetupConfigSchema, ENV_PREFIX, { ...inputs, overrides });
}
