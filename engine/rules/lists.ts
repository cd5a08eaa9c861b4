import { compileGlobs } from '../conditions/globs.ts';
import type { LinearRegexLimits } from '../conditions/linear-regex.ts';
import type { Unary } from '../conditions/operators.ts';
import { CidrSet, parseCidr } from '../ip.ts';
import type { ListDefinition } from './schema.ts';

/** Compiles a named list for `inList`: a Set, one glob matcher, or a CidrSet. */
export function compileList(
  list: ListDefinition,
  limits: LinearRegexLimits,
): Unary | { index: number; message: string } {
  const fold = list.caseInsensitive ? (text: string) => text.toLowerCase() : (text: string) => text;
  switch (list.match) {
    case 'exact': {
      const values = new Set(list.values.map(fold));
      return (fact) => typeof fact === 'string' && values.has(fold(fact));
    }
    case 'glob': {
      const isMatch = compileGlobs(list.values, { nocase: list.caseInsensitive }, limits);
      if (typeof isMatch !== 'function') return { index: isMatch.index, message: isMatch.reason };
      return (fact) => typeof fact === 'string' && isMatch(fact);
    }
    case 'cidr': {
      const set = new CidrSet();
      for (const [index, text] of list.values.entries()) {
        const cidr = parseCidr(text);
        if (!cidr) return { index, message: `${JSON.stringify(text)} is not an IPv4 or IPv6 network` };
        set.add(cidr, true);
      }
      return (fact) => typeof fact === 'string' && set.lookup(fact) !== undefined;
    }
  }
}
