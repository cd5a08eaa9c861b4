/**
 * Rejects regular expressions that can backtrack catastrophically, before they reach the hot path.
 * Conservative by design: a pattern is refused when
 * - a repeated subexpression contains another unbounded repetition (star height > 1: `(a+)+`, `(\w*x)*`),
 * - a repeated group contains an alternation whose branches may start with the same character (`(a|ab)+`),
 * - it uses a backreference (`\1`, `\k<name>`), whose cost cannot be bounded,
 * - it is longer than MAX_PATTERN_LENGTH.
 * Sequences of single repetitions (`\d+\.\d+`, `.*foo.*`) stay allowed: at worst polynomial on bounded input.
 */
export const MAX_PATTERN_LENGTH = 1024;

type Node =
  | { kind: 'char'; first: string | undefined }
  | { kind: 'group'; branches: Node[][] }
  | { kind: 'repeat'; body: Node; unbounded: boolean; many: boolean };

class Parser {
  private index = 0;
  constructor(private readonly source: string) {}

  parse(): Node[][] {
    const branches = this.alternation();
    if (this.index < this.source.length) throw new UnsafeRegex(`unexpected ")" at ${this.index}`);
    return branches;
  }

  private alternation(): Node[][] {
    const branches: Node[][] = [this.sequence()];
    while (this.source[this.index] === '|') {
      this.index++;
      branches.push(this.sequence());
    }
    return branches;
  }

  private sequence(): Node[] {
    const items: Node[] = [];
    while (this.index < this.source.length) {
      const ch = this.source[this.index]!;
      if (ch === '|' || ch === ')') break;
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return items;
  }

  private atom(): Node {
    const ch = this.source[this.index]!;
    if (ch === '(') return this.group();
    if (ch === '[') return this.characterClass();
    if (ch === '\\') return this.escape();
    this.index++;
    const literal = ch === '.' || ch === '^' || ch === '$' ? undefined : ch;
    return { kind: 'char', first: literal };
  }

  private group(): Node {
    this.index++;
    if (this.source.startsWith('?<', this.index) && !/^\?<[=!]/.test(this.source.slice(this.index))) {
      this.index = this.source.indexOf('>', this.index) + 1;
    } else if (this.source[this.index] === '?') {
      this.index += this.source[this.index + 1] === '<' ? 3 : 2;
    }
    const branches = this.alternation();
    if (this.source[this.index] !== ')') throw new UnsafeRegex('unterminated group');
    this.index++;
    return { kind: 'group', branches };
  }

  private characterClass(): Node {
    this.index++;
    if (this.source[this.index] === '^') this.index++;
    if (this.source[this.index] === ']') this.index++;
    while (this.index < this.source.length && this.source[this.index] !== ']') {
      this.index += this.source[this.index] === '\\' ? 2 : 1;
    }
    this.index++;
    return { kind: 'char', first: undefined };
  }

  private escape(): Node {
    const next = this.source[this.index + 1] ?? '';
    if (/[1-9]/.test(next) || next === 'k') throw new UnsafeRegex('backreferences are not allowed');
    this.index += 2;
    // Escaped punctuation is a literal; class escapes (\d, \w...) may start with many characters.
    return { kind: 'char', first: /[A-Za-z0-9]/.test(next) ? undefined : next };
  }

  private quantified(atom: Node): Node {
    let node = atom;
    for (;;) {
      const ch = this.source[this.index];
      let max: number;
      if (ch === '*' || ch === '+' || ch === '?') {
        this.index++;
        max = ch === '?' ? 1 : Number.POSITIVE_INFINITY;
      } else if (ch === '{') {
        const match = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.index));
        if (!match) return node;
        this.index += match[0].length;
        max =
          match[2] === undefined
            ? Number(match[1])
            : match[3] === ''
              ? Number.POSITIVE_INFINITY
              : Number(match[3]);
      } else {
        return node;
      }
      if (this.source[this.index] === '?') this.index++;
      node = { kind: 'repeat', body: node, unbounded: max === Number.POSITIVE_INFINITY, many: max > 1 };
    }
  }
}

class UnsafeRegex extends Error {}

function containsUnboundedRepeat(node: Node): boolean {
  switch (node.kind) {
    case 'char':
      return false;
    case 'repeat':
      return node.unbounded || containsUnboundedRepeat(node.body);
    case 'group':
      return node.branches.some((branch) => branch.some(containsUnboundedRepeat));
  }
}

function containsRepeat(node: Node): boolean {
  switch (node.kind) {
    case 'char':
      return false;
    case 'repeat':
      return node.many || containsRepeat(node.body);
    case 'group':
      return node.branches.some((branch) => branch.some(containsRepeat));
  }
}

/** The literal first character of a branch, or undefined when it could start with several. */
function firstLiteral(branch: Node[]): string | undefined {
  const head = branch[0];
  if (!head) return undefined;
  if (head.kind === 'char') return head.first;
  if (head.kind === 'group' && head.branches.length === 1) return firstLiteral(head.branches[0]!);
  return undefined;
}

function checkNode(node: Node): void {
  if (node.kind === 'group') {
    for (const branch of node.branches) for (const item of branch) checkNode(item);
    return;
  }
  if (node.kind !== 'repeat') return;
  if (node.many) {
    const inner = node.body;
    const nested = node.unbounded ? containsRepeat(inner) : containsUnboundedRepeat(inner);
    if (inner.kind !== 'char' && nested) {
      throw new UnsafeRegex(
        'nested quantifiers (a repeated group that itself repeats) can backtrack exponentially',
      );
    }
    if (inner.kind === 'group' && inner.branches.length > 1) {
      const firsts = inner.branches.map(firstLiteral);
      if (firsts.some((first) => first === undefined) || new Set(firsts).size !== firsts.length) {
        throw new UnsafeRegex(
          'a repeated alternation whose branches can start alike can backtrack exponentially; make the branches start with distinct literals',
        );
      }
    }
  }
  checkNode(node.body);
}

/** Returns why `pattern` is refused, or undefined when it is safe to run on every event. */
export function regexSafetyProblem(pattern: string, flags = ''): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, flags);
  } catch (error) {
    return `invalid regular expression: ${(error as Error).message}`;
  }
  try {
    for (const branch of new Parser(pattern).parse()) for (const node of branch) checkNode(node);
    return undefined;
  } catch (error) {
    if (error instanceof UnsafeRegex) return `unsafe regular expression: ${error.message}`;
    throw error;
  }
}
