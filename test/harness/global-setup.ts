// vitest globalSetup: provides real Kafka, NATS and Elasticsearch to every test (see services.ts for how).
import type { TestProject } from 'vitest/node';
import './env.ts'; // ProvidedContext typings
import {
  describeEndpoint,
  ENV_VARS,
  KAFKA_VERSION_ENV,
  type ServiceEndpoint,
  servicesModeFromEnv,
  startServices,
  stopResources,
} from './services.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mode = servicesModeFromEnv();
  if (mode === 'none') {
    console.log('[services] EDR_TEST_SERVICES=none: not starting services; tests needing them will fail');
    return async () => {};
  }
  const started = Date.now();
  const services = await startServices({ mode, detached: false, log: (line) => console.log(line) });
  for (const endpoint of services.endpoints) {
    console.log(describeEndpoint(endpoint));
    publish(project, endpoint);
  }
  project.provide('EDR_SERVICES', services.endpoints);
  console.log(`[services] ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return async () => {
    await stopResources(services.resources);
  };
}

/** Both channels: workers inherit process.env, and inject() works wherever vitest runs the tests. */
function publish(project: TestProject, endpoint: ServiceEndpoint): void {
  const key = ENV_VARS[endpoint.name];
  process.env[key] = endpoint.url;
  if (endpoint.name === 'kafka') {
    project.provide('KAFKA_BROKERS', endpoint.url);
    if (endpoint.version !== 'unknown') process.env[KAFKA_VERSION_ENV] = endpoint.version;
  } else if (endpoint.name === 'nats') {
    project.provide('NATS_URL', endpoint.url);
  } else {
    project.provide('ELASTICSEARCH_URL', endpoint.url);
  }
}
