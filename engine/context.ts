import type { FactContext } from './conditions/facts.ts';
import type { AssetFacts, AssetInventory } from './enrichment/assets.ts';
import type { IntelFacts, IntelIndex } from './enrichment/intel.ts';
import type { Envelope } from './model/index.ts';
import type { ObservedSession, SessionFacts } from './sessions.ts';

/** The facts of the event being evaluated; one instance is reused for every event (no allocation per event). */
export class EvalContext implements FactContext {
  event!: Envelope;
  session!: SessionFacts;
  private groupKey = '';
  private cachedIntel: IntelFacts | undefined;
  private cachedAsset: AssetFacts | undefined;

  constructor(
    public intelIndex: IntelIndex,
    public inventory: AssetInventory,
  ) {}

  reset(event: Envelope, session: ObservedSession): void {
    this.event = event;
    this.session = session.facts;
    this.groupKey = session.groupKey;
    this.cachedIntel = undefined;
    this.cachedAsset = undefined;
  }

  sessionKey(): string {
    return this.groupKey;
  }

  intel(): IntelFacts {
    this.cachedIntel ??= this.intelIndex.match(this.event);
    return this.cachedIntel;
  }

  asset(): AssetFacts {
    this.cachedAsset ??= this.inventory.facts(this.event.agentId);
    return this.cachedAsset;
  }
}
