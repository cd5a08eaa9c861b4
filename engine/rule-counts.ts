/**
 * A count per rule (alerts raised, alerts suppressed). While a rule set is installed each rule counts in a slot
 * of its own, found by the rule's position: updating a record keyed by rule id on every suppressed match was a
 * few percent of the engine's time. Reloading the rules folds the slots into totals by id.
 */
export class RuleCounts {
  private readonly folded: Record<string, number> = {};
  private ids: readonly string[] = [];
  private slots = new Float64Array(0);

  /** Folds the counts so far into the totals by id and starts counting the rules `ids`, by position. */
  install(ids: readonly string[]): void {
    this.addSlotsTo(this.folded);
    this.ids = ids;
    this.slots = new Float64Array(ids.length);
  }

  add(ruleIndex: number): void {
    this.slots[ruleIndex]!++;
  }

  /** Totals by rule id; rules never counted are absent. */
  byId(): Record<string, number> {
    const totals = { ...this.folded };
    this.addSlotsTo(totals);
    return totals;
  }

  private addSlotsTo(totals: Record<string, number>): void {
    this.ids.forEach((id, i) => {
      const count = this.slots[i]!;
      if (count > 0) totals[id] = (totals[id] ?? 0) + count;
    });
  }
}
