import type { FactContext } from './conditions/facts.ts';
import { type AssetFacts, UNKNOWN_ASSET } from './enrichment/assets.ts';
import type { IntelFacts, IntelIndex } from './enrichment/intel.ts';
import type { Envelope } from './model/index.ts';
import type { ObservedSession, SessionFacts } from './sessions.ts';

/** The facts of the event being evaluated; one instance is reused for every event (no allocation per event). */
export class EvalContext implements FactContext {
  event!: Envelope;
  session!: SessionFacts;
  asset: AssetFacts = UNKNOWN_ASSET;
  private groupKey = '';
  private cachedIntel: IntelFacts | undefined;

  constructor(public intelIndex: IntelIndex) {}

  reset(event: Envelope, session: ObservedSession, asset: AssetFacts): void {
    this.event = event;
    this.session = session.facts;
    this.groupKey = session.groupKey;
    this.asset = asset;
    this.cachedIntel = undefined;
  }

  sessionKey(): string {
    return this.groupKey;
  }

  intel(): IntelFacts {
    this.cachedIntel ??= this.intelIndex.match(this.event);
    return this.cachedIntel;
  }
}
