import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * An API token as the config holds it: it prints, logs and serializes as `[redacted]` (JSON.stringify,
 * util.inspect, pino, template strings), so a config dump or an error can never carry it. Only `reveal()`
 * gives the value, where a request header is built.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  /** Removes every occurrence of the value from a text (an error message, a response body echoing it). */
  scrub(text: string): string {
    return this.#value === '' ? text : text.replaceAll(this.#value, REDACTED);
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** The configured secret, else the environment variable named for it; undefined when neither is set. */
export function resolveSecret(
  configured: Secret | undefined,
  envName: string,
  env: NodeJS.ProcessEnv = process.env,
): Secret | undefined {
  if (configured) return configured;
  const value = env[envName];
  return value ? new Secret(value) : undefined;
}
