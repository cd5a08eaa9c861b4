import { itemPayload, itemTimestamp, type SinkItem } from '../types.ts';
import type { SplunkHecSinkConfig } from './config.ts';

export const EVENT_PATH = '/services/collector/event';
export const ACK_PATH = '/services/collector/ack';

/** Joins without dropping a path prefix the base URL may carry (HEC behind a reverse proxy). */
export function endpoint(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

/** One HEC event object; `time` is epoch seconds with the milliseconds as a fraction. */
export interface HecEvent {
  time: number;
  host: string;
  source: string;
  sourcetype: string;
  index?: string;
  event: unknown;
}

type BuilderConfig = Pick<SplunkHecSinkConfig, 'host' | 'source' | 'index' | 'alertIndex'>;

export function hecEvent(item: SinkItem, config: BuilderConfig): HecEvent {
  const event: HecEvent = {
    time: Date.parse(itemTimestamp(item)) / 1000,
    host: config.host,
    source: config.source,
    sourcetype: `clawdstrike:${item.kind}`,
    event: itemPayload(item),
  };
  const index = item.kind === 'alert' ? (config.alertIndex ?? config.index) : config.index;
  if (index) event.index = index;
  return event;
}

/** HEC batches are event objects written one after another; newline-separated for readability. */
export function hecBatch(items: readonly SinkItem[], config: BuilderConfig): string {
  return items.map((item) => JSON.stringify(hecEvent(item, config))).join('\n');
}

export function hecHeaders(token: string, channel: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    authorization: `Splunk ${token}`,
    'content-type': 'application/json',
  };
  if (channel) headers['x-splunk-request-channel'] = channel;
  return headers;
}
