// What tests call to find the real services started by test/harness/global-setup.ts.
import { inject, type ProvidedContext } from 'vitest';
import type { ServiceEndpoint, ServiceName } from './services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    KAFKA_BROKERS: string;
    NATS_URL: string;
    ELASTICSEARCH_URL: string;
    EDR_SERVICES: ServiceEndpoint[];
  }
}

export interface ServiceUrls {
  kafkaBrokers: string[];
  natsUrl: string;
  elasticsearchUrl: string;
}

type UrlKey = 'KAFKA_BROKERS' | 'NATS_URL' | 'ELASTICSEARCH_URL';

/** All three endpoints; throws a clear message when services were not started. */
export function serviceUrls(): ServiceUrls {
  return { kafkaBrokers: kafkaBrokers(), natsUrl: natsUrl(), elasticsearchUrl: elasticsearchUrl() };
}

export function kafkaBrokers(): string[] {
  return required('KAFKA_BROKERS').split(',');
}

export function natsUrl(): string {
  return required('NATS_URL');
}

export function elasticsearchUrl(): string {
  return required('ELASTICSEARCH_URL');
}

/** Server version as the harness saw it, e.g. '4.1.1' for Kafka; 'unknown' when not reported. */
export function serviceVersion(name: ServiceName): string {
  const fromSetup = injected('EDR_SERVICES')?.find((e) => e.name === name)?.version;
  // Exported by scripts/services.sh; Kafka's version is not discoverable through kafkajs.
  const fromEnv = name === 'kafka' ? process.env.EDR_KAFKA_VERSION : undefined;
  return fromSetup ?? fromEnv ?? 'unknown';
}

function required(key: UrlKey): string {
  // process.env covers values exported by hand (scripts/services.sh); inject covers the globalSetup.
  const value = process.env[key] || injected(key);
  if (value) return value;
  const why =
    process.env.EDR_TEST_SERVICES?.toLowerCase() === 'none'
      ? 'EDR_TEST_SERVICES=none skipped starting services'
      : 'the test services were not started';
  throw new Error(
    `${key} is not set: ${why}. Export it (eval "$(npm run -s services start)") or unset EDR_TEST_SERVICES.`,
  );
}

function injected<K extends UrlKey | 'EDR_SERVICES'>(key: K): ProvidedContext[K] | undefined {
  try {
    return inject(key);
  } catch {
    return undefined; // Not inside a vitest worker.
  }
}
