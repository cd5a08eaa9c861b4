import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Clock } from '../../core/clock.ts';
import type { RetryVerdict } from '../driver/verdict.ts';
import { tlsOptions } from '../shared/config.ts';
import { HttpClient, type HttpRequest } from '../shared/http.ts';
import { sendClassified } from '../shared/http-verdict.ts';
import type { SplunkHecSinkConfig } from './config.ts';
import { ACK_PATH, EVENT_PATH, endpoint, hecHeaders } from './request-builder.ts';
import { classifyHecResponse, parseHecReply } from './retry.ts';

const gzipAsync = promisify(gzip);

export interface HecServiceDeps {
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
}

/** Sends one HEC batch and, with indexer acknowledgement on, confirms it only once Splunk acks its ackId. */
export class HecService {
  readonly channel: string | undefined;
  private readonly client: HttpClient;

  constructor(
    private readonly config: SplunkHecSinkConfig,
    private readonly deps: HecServiceDeps,
  ) {
    this.client = new HttpClient({ timeoutMs: config.requestTimeoutMs, tls: tlsOptions(config.tls) });
    this.channel = config.ack.enabled ? (config.ack.channel ?? randomUUID()) : undefined;
  }

  async send(batch: string, count: number): Promise<RetryVerdict> {
    const request: HttpRequest = {
      url: endpoint(this.config.url, EVENT_PATH),
      method: 'POST',
      headers: hecHeaders(this.config.token, this.channel),
      body: batch,
    };
    if (this.config.gzip) {
      request.body = await gzipAsync(batch);
      request.headers['content-encoding'] = 'gzip';
    }
    let ackId: number | undefined;
    const verdict = await sendClassified(this.client, request, (response) => {
      ackId = parseHecReply(response.body)?.ackId;
      return classifyHecResponse(response, count, this.deps.clock());
    });
    // A token without acknowledgement enabled replies without an ackId: HEC's 200 is all there is.
    if (verdict.action !== 'ok' || ackId === undefined || !this.channel) return verdict;
    return this.awaitAck(ackId);
  }

  close(): void {
    this.client.close();
  }

  private async awaitAck(ackId: number): Promise<RetryVerdict> {
    const { pollIntervalMs, timeoutMs } = this.config.ack;
    const deadline = this.deps.clock() + timeoutMs;
    while (this.deps.clock() < deadline) {
      await this.deps.sleep(pollIntervalMs);
      if (await this.acked(ackId)) return { action: 'ok' };
    }
    // Unacknowledged in time: the events may or may not be indexed, so they are resent (at-least-once).
    return {
      action: 'retry',
      reason: `indexer acknowledgement ${ackId} not received within ${timeoutMs} ms`,
    };
  }

  private async acked(ackId: number): Promise<boolean> {
    try {
      const response = await this.client.send({
        url: endpoint(this.config.url, ACK_PATH),
        method: 'POST',
        headers: hecHeaders(this.config.token, this.channel),
        body: JSON.stringify({ acks: [ackId] }),
      });
      const reply: unknown = JSON.parse(response.body);
      const acks = (reply as { acks?: Record<string, boolean> }).acks;
      return acks?.[String(ackId)] === true;
    } catch {
      // A failed poll is not a verdict; the deadline is.
      return false;
    }
  }
}
