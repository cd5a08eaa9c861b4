import type { FactContext } from './conditions/facts.ts';
import { type AssetFacts, UNKNOWN_ASSET } from './enrichment/assets.ts';
import type { IntelFacts, IntelIndex } from './enrichment/intel.ts';
import type { Envelope } from './model/index.ts';
import type { SessionFacts } from './sessions.ts';

/** The facts of the event being evaluated; one instance is reused for every event (no allocation per event). */
export class EvalContext implements FactContext {
  event!: Envelope;
  session!: SessionFacts;
  asset: AssetFacts = UNKNOWN_ASSET;
  private cachedIntel: IntelFacts | undefined;
  private cachedSessionKey: string | undefined;

  constructor(public intelIndex: IntelIndex) {}

  reset(event: Envelope, session: SessionFacts, asset: AssetFacts): void {
    this.event = event;
    this.session = session;
    this.asset = asset;
    this.cachedIntel = undefined;
    this.cachedSessionKey = undefined;
  }

  sessionKey(): string {
    this.cachedSessionKey ??= `${this.event.agentId}|${this.event.sessionId}`;
    return this.cachedSessionKey;
  }

  intel(): IntelFacts {
    this.cachedIntel ??= this.intelIndex.match(this.event);
    return this.cachedIntel;
  }
}
