/**
 * Which entries of a keyed state changed since the last drain, as (first, second) key pairs: a rule id and a
 * group key, or an agent id and a session id. Nested sets rather than one set of joined keys, so marking an
 * entry on the hot path builds no string.
 */
export class ChangedPairs {
  private readonly byFirst = new Map<string, Set<string>>();

  add(first: string, second: string): void {
    let seconds = this.byFirst.get(first);
    if (!seconds) {
      seconds = new Set();
      this.byFirst.set(first, seconds);
    }
    seconds.add(second);
  }

  /** The pairs marked since the last drain; forgets them. */
  drain(): Array<[string, string]> {
    const pairs: Array<[string, string]> = [];
    for (const [first, seconds] of this.byFirst) for (const second of seconds) pairs.push([first, second]);
    this.byFirst.clear();
    return pairs;
  }
}
