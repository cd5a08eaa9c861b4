import { Client, type ClientOptions } from '@elastic/elasticsearch';
import { tlsOptions } from '../shared/config.ts';
import type { ElasticsearchSinkConfig } from './config.ts';

type ConnectionConfig = Pick<
  ElasticsearchSinkConfig,
  'node' | 'auth' | 'tls' | 'requestTimeoutMs' | 'compression'
>;

/** A client for the sink and for `clawdstrike-edr setup`; it never retries by itself: the driver does. */
export function createElasticsearchClient(config: ConnectionConfig): Client {
  const options: ClientOptions = {
    node: config.node,
    requestTimeout: config.requestTimeoutMs,
    compression: config.compression,
    maxRetries: 0,
    tls: tlsOptions(config.tls),
  };
  if (config.auth) options.auth = config.auth;
  return new Client(options);
}
