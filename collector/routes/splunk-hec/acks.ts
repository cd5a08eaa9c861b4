import type { FastifyRequest } from 'fastify';
import { EdrError } from '../../../core/errors.ts';
import { HEC_STATUS, type HecStatus } from './schema.ts';

/** A request HEC refuses with a code of its own (channel, ack and query-string problems). */
export class HecRefusal extends EdrError {
  readonly hec: HecStatus;

  constructor(status: HecStatus, detail: string) {
    super('EDR_ERR_BAD_REQUEST', `${status.text}: ${detail}`);
    this.hec = status;
  }
}

/** Splunk channels are GUIDs; anything else is "Invalid data channel". */
const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/**
 * The request's channel: the X-Splunk-Request-Channel header, else the `channel` query parameter (Splunk
 * reads both). Undefined when neither is present; a HecRefusal (code 11) when it is not one GUID.
 */
export function channelOf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-splunk-request-channel'];
  const query = (request.query as Record<string, unknown> | undefined)?.channel;
  const value = header ?? query;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !GUID.test(value)) {
    throw new HecRefusal(HEC_STATUS.invalidDataChannel, 'expected one GUID');
  }
  return value.toLowerCase();
}

export function requiredChannelOf(request: FastifyRequest): string {
  const channel = channelOf(request);
  if (channel === undefined) {
    throw new HecRefusal(
      HEC_STATUS.dataChannelMissing,
      'send X-Splunk-Request-Channel: <GUID> or ?channel=<GUID>',
    );
  }
  return channel;
}

export interface AckLedgerLimits {
  /** Channels remembered over all senders; the least recently used goes first. */
  maxChannels: number;
  /** Unqueried ackIds kept per channel; the oldest goes first (it then reads false). */
  maxPendingPerChannel: number;
}

interface Channel {
  nextAckId: number;
  /** Issued ackIds not yet reported, oldest first (ids only grow). */
  pending: Set<number>;
}

/**
 * Indexer acknowledgement as HEC keeps it: ackIds counted per channel from 0, each reported true once.
 * A request is answered 200 only after the broker acknowledged its events, so an ackId is true from the
 * moment it is issued. Channels belong to the sender that used them: one sender cannot read or spend
 * another's. Both tables are bounded; what falls out reads false, and the sender resends (the processor
 * drops a repeated (agentId, eventId)).
 */
export class AckLedger {
  readonly #limits: AckLedgerLimits;
  readonly #channels = new Map<string, Channel>();

  constructor(limits: AckLedgerLimits) {
    this.#limits = limits;
  }

  /** The ackId for a request just acknowledged by the broker. */
  issue(sender: string, channel: string): number {
    const state = this.#touch(sender, channel) ?? this.#open(sender, channel);
    const ackId = state.nextAckId++;
    state.pending.add(ackId);
    if (state.pending.size > this.#limits.maxPendingPerChannel) {
      state.pending.delete(state.pending.values().next().value!);
    }
    return ackId;
  }

  /** Splunk's answer to /ack: true for each asked ackId issued on this channel and not reported yet. */
  query(sender: string, channel: string, ackIds: readonly number[]): Record<string, boolean> {
    // Asking opens no channel: a sender cannot push others' channels out by asking about new ones.
    const state = this.#touch(sender, channel);
    const acks: Record<string, boolean> = {};
    for (const ackId of ackIds) {
      const key = String(ackId);
      acks[key] = acks[key] === true || state?.pending.delete(ackId) === true;
    }
    return acks;
  }

  /** The channel's state, made the most recently used (a Map iterates in insertion order). */
  #touch(sender: string, channel: string): Channel | undefined {
    const key = channelKey(sender, channel);
    const state = this.#channels.get(key);
    if (state === undefined) return undefined;
    this.#channels.delete(key);
    this.#channels.set(key, state);
    return state;
  }

  #open(sender: string, channel: string): Channel {
    const state: Channel = { nextAckId: 0, pending: new Set<number>() };
    this.#channels.set(channelKey(sender, channel), state);
    if (this.#channels.size > this.#limits.maxChannels) {
      this.#channels.delete(this.#channels.keys().next().value!);
    }
    return state;
  }
}

/** Length-prefixed, so no choice of sender and channel names another pair's channel. */
function channelKey(sender: string, channel: string): string {
  return `${sender.length}:${sender}${channel}`;
}
