import type { Condition } from '../schema.ts';
import { type FieldEnvironment, fieldCondition, keywordCondition, SigmaRefusal } from './values.ts';

/**
 * A Sigma `detection` block lowered into one of our conditions: each search identifier becomes a condition
 * (a map ANDs its fields, a list of maps ORs them, a list of plain values is a keyword search) and the
 * `condition` expression combines them: `and`, `or`, `not`, parentheses, `1 of pattern`, `all of pattern`,
 * `1 of them`, `all of them` (identifiers starting with `_` left out of `them`), binding from loosest to
 * tightest as or, and, not, `x of`, parentheses. A list of conditions is ORed.
 */
export interface DetectionLimits {
  /** Characters in one condition expression. */
  maxConditionLength: number;
  /** Nesting of parentheses and `not` in one condition expression. */
  maxConditionDepth: number;
}

const refuse = (message: string): never => {
  throw new SigmaRefusal(message);
};

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mapCondition(map: Record<string, unknown>, env: FieldEnvironment): Condition {
  const entries = Object.entries(map);
  if (entries.length === 0) refuse('an empty selection matches nothing');
  const children = entries.map(([key, value]) => fieldCondition(key, value, env));
  return children.length === 1 ? children[0]! : { all: children };
}

function searchCondition(name: string, value: unknown, env: FieldEnvironment): Condition {
  try {
    if (isMap(value)) {
      const keys = Object.keys(value);
      // `'|all': [...]` (no field before the pipe) is a keyword search with modifiers.
      if (keys.length === 1 && keys[0]!.startsWith('|')) {
        return keywordCondition(keys[0]!.slice(1).split('|'), value[keys[0]!], keys[0]);
      }
      return mapCondition(value, env);
    }
    if (Array.isArray(value) && value.length > 0 && value.every(isMap)) {
      const children = value.map((map) => mapCondition(map, env));
      return children.length === 1 ? children[0]! : { any: children };
    }
    if (Array.isArray(value) && value.some(isMap)) refuse('a list mixes maps and plain values');
    return keywordCondition([], value);
  } catch (error) {
    if (error instanceof SigmaRefusal) throw new SigmaRefusal(`detection.${name}: ${error.message}`);
    throw error;
  }
}

type Token = { kind: 'word'; text: string } | { kind: '(' } | { kind: ')' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:([()])|([^\s()]+))/y;
  let end = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    end = pattern.lastIndex;
    if (match[1]) tokens.push({ kind: match[1] as '(' | ')' });
    else if (match[2]) tokens.push({ kind: 'word', text: match[2] });
  }
  if (text.slice(end).trim() !== '') refuse(`condition: cannot read ${JSON.stringify(text)}`);
  return tokens;
}

const RESERVED = new Set(['and', 'or', 'not', 'of', 'them']);

/** A `*` pattern over identifiers, as an anchored test. */
function identifierPattern(pattern: string): (name: string) => boolean {
  const parts = pattern.split('*');
  return (name) => {
    if (!name.startsWith(parts[0]!)) return false;
    let at = parts[0]!.length;
    for (const part of parts.slice(1, -1)) {
      const found = name.indexOf(part, at);
      if (found < 0) return false;
      at = found + part.length;
    }
    const last = parts.length > 1 ? parts[parts.length - 1]! : '';
    return parts.length === 1 ? name === pattern : name.length - last.length >= at && name.endsWith(last);
  };
}

class ConditionParser {
  #at = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly searches: ReadonlyMap<string, Condition>,
    private readonly limits: DetectionLimits,
  ) {}

  parse(): Condition {
    const condition = this.#or(0);
    const extra = this.tokens[this.#at];
    if (extra)
      refuse(`condition: unexpected ${extra.kind === 'word' ? JSON.stringify(extra.text) : extra.kind}`);
    return condition;
  }

  #peekWord(): string | undefined {
    const token = this.tokens[this.#at];
    return token?.kind === 'word' ? token.text.toLowerCase() : undefined;
  }

  #or(depth: number): Condition {
    const children = [this.#and(depth)];
    while (this.#peekWord() === 'or') {
      this.#at++;
      children.push(this.#and(depth));
    }
    return children.length === 1 ? children[0]! : { any: children };
  }

  #and(depth: number): Condition {
    const children = [this.#unary(depth)];
    while (this.#peekWord() === 'and') {
      this.#at++;
      children.push(this.#unary(depth));
    }
    return children.length === 1 ? children[0]! : { all: children };
  }

  #unary(depth: number): Condition {
    if (depth >= this.limits.maxConditionDepth) {
      refuse(`condition: nested more than ${this.limits.maxConditionDepth} levels deep`);
    }
    if (this.#peekWord() === 'not') {
      this.#at++;
      return { not: this.#unary(depth + 1) };
    }
    const token = this.tokens[this.#at++];
    if (!token) return refuse('condition: ends where an identifier was expected');
    if (token.kind === '(') {
      const inner = this.#or(depth + 1);
      if (this.tokens[this.#at++]?.kind !== ')') refuse('condition: a "(" is not closed');
      return inner;
    }
    if (token.kind === ')') return refuse('condition: unexpected ")"');
    const word = token.text;
    if (this.#peekWord() === 'of') {
      this.#at++;
      return this.#quantified(word);
    }
    if (RESERVED.has(word.toLowerCase())) refuse(`condition: unexpected ${JSON.stringify(word)}`);
    const search = this.searches.get(word);
    if (!search) refuse(`condition: unknown search identifier ${JSON.stringify(word)}`);
    return search!;
  }

  #quantified(quantifier: string): Condition {
    const target = this.tokens[this.#at++];
    if (target?.kind !== 'word') return refuse(`condition: "${quantifier} of" needs a pattern or "them"`);
    const all = quantifier.toLowerCase() === 'all';
    if (!all && quantifier !== '1') {
      refuse(`condition: "${quantifier} of" is not supported (1 of and all of are)`);
    }
    const them = target.text.toLowerCase() === 'them';
    const matches = them ? (name: string) => !name.startsWith('_') : identifierPattern(target.text);
    const chosen = [...this.searches].filter(([name]) => matches(name)).map(([, condition]) => condition);
    if (chosen.length === 0) refuse(`condition: no search identifier matches ${JSON.stringify(target.text)}`);
    if (chosen.length === 1) return chosen[0]!;
    return all ? { all: chosen } : { any: chosen };
  }
}

/** The detection block as one condition, or a refusal naming the identifier or the part of the condition. */
export function detectionCondition(
  detection: Record<string, unknown>,
  env: FieldEnvironment,
  limits: DetectionLimits,
): Condition {
  const searches = new Map<string, Condition>();
  for (const [name, value] of Object.entries(detection)) {
    if (name === 'condition' || name === 'timeframe') continue;
    searches.set(name, searchCondition(name, value, env));
  }
  if ('timeframe' in detection)
    refuse('detection.timeframe (Sigma 1 aggregation) is not supported: use a correlation rule');
  const expressions = Array.isArray(detection.condition) ? detection.condition : [detection.condition];
  if (
    expressions.length === 0 ||
    expressions.some((text) => typeof text !== 'string' || text.trim() === '')
  ) {
    refuse('detection.condition must be an expression or a list of them');
  }
  const conditions = (expressions as string[]).map((text) => {
    if (text.length > limits.maxConditionLength) {
      refuse(`detection.condition: ${text.length} characters, more than ${limits.maxConditionLength}`);
    }
    if (text.includes('|'))
      refuse(
        'detection.condition: aggregations after "|" (Sigma 1) are not supported: use a correlation rule',
      );
    return new ConditionParser(tokenize(text), searches, limits).parse();
  });
  return conditions.length === 1 ? conditions[0]! : { any: conditions };
}
