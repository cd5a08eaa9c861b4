import type { FastifyServerOptions } from 'fastify';
import { z } from 'zod';
import { EdrError } from '../../core/errors.ts';
import { loadRules } from '../../engine/index.ts';
import { type SinksConfig, SinksConfigSchema, type WebhookSinkConfig } from '../../sinks/index.ts';
import type { ConsoleStore } from '../store/types.ts';
import { buildConsole, type Console } from './app.ts';
import { type ConsoleSettings, ConsoleSettingsSchema, type Role } from './config.ts';
import { type ResponseRunner, webhookResponseRunner } from './respond.ts';
import { ruleCatalog } from './rules.ts';

/**
 * What the console reads from the one config file: its own section, and the sinks, whose webhook sinks are
 * the targets of manual response (the same ones the processor calls for automated actions).
 */
export const ConsoleConfigSchema = z.object({
  console: ConsoleSettingsSchema.prefault({}),
  sinks: SinksConfigSchema.prefault({}),
});
export type ConsoleConfig = z.infer<typeof ConsoleConfigSchema>;

export function webhookSinks(sinks: SinksConfig): WebhookSinkConfig[] {
  return sinks.sinks.filter((sink): sink is WebhookSinkConfig => sink.type === 'webhook');
}

export interface RunningConsole {
  /** Where it listens, e.g. http://127.0.0.1:8090 */
  url: string;
  /** A one-time login URL for a user and role. */
  loginUrl(user: string, role: Role): string;
  stop(): Promise<void>;
}

export interface ConsoleServeOptions {
  store: ConsoleStore;
  /** Rule files or folders, for rule descriptions and files (the processor's). */
  rulePaths: readonly string[];
  /** Webhook sinks for manual response; none: the console runs no action. */
  webhooks: readonly WebhookSinkConfig[];
  /** Overrides settings.host/port (the CLI's flags). */
  listen?: { host: string; port: number };
  logger?: FastifyServerOptions['logger'];
}

/** Starts the store, the response runner and the app, and listens. The caller stops it with `stop()`. */
export async function startConsole(
  settings: ConsoleSettings,
  options: ConsoleServeOptions,
): Promise<RunningConsole> {
  const rules = loadRules(options.rulePaths);
  if (!rules.ok)
    throw new EdrError(
      'EDR_ERR_CONFIG',
      `console rules: ${rules.error.map((problem) => problem.message).join('; ')}`,
    );
  await options.store.start();
  let responder: ResponseRunner | undefined;
  let app: Console['app'] | undefined;
  try {
    if (options.webhooks.length > 0) responder = await webhookResponseRunner(options.webhooks);
    const built = await buildConsole(settings, {
      store: options.store,
      rules: ruleCatalog(rules.value, options.rulePaths),
      ...(responder ? { responder } : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    });
    app = built.app;
    const { host, port } = options.listen ?? settings;
    const url = await built.app.listen({ host, port });
    return {
      url,
      loginUrl: (user, role) => `${url}${built.loginPath(user, role)}`,
      async stop() {
        await built.app.close();
        await responder?.close();
        await options.store.close();
      },
    };
  } catch (error) {
    await app?.close();
    await responder?.close();
    await options.store.close();
    throw error;
  }
}
