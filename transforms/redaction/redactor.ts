import { createHmac } from 'node:crypto';
import { EdrError } from '../../core/errors.ts';
import {
  type Alert,
  DEFAULT_RULE_LIMITS,
  type Envelope,
  type RuleLimits,
  type RuleSet,
  readRuleSources,
} from '../../engine/index.ts';
import type { RedactionConfig } from './config.ts';
import { compileDetectors, type Detectors, type NamedPattern, rulePatterns } from './detectors.ts';

export interface RedactionInput {
  events: readonly Envelope[];
  alerts: readonly Alert[];
}

/** The batch as sinks and the alerts stream get it, and as it was (same order) for sinks with `redact: false`. */
export interface RedactedBatch extends RedactionInput {
  clear: RedactionInput;
}

export interface RedactionStats {
  /** Values replaced, by detector (`<ruleId>#<n>`, a configured pattern name, or a field path). */
  redacted: Record<string, number>;
  /** Strings (or their tails) withheld unscanned: past maxScanPerValue/maxScanPerRecord, or too deep. */
  withheld: number;
  /** Characters the detectors ran over. */
  scannedChars: number;
}

export interface RedactorOptions {
  /** The HMAC key of the digests (see loadRedactionKey). */
  key: Buffer;
  /** Rule files that hold the detector rules when the loaded ones do not (the bundled rules). */
  fallbackRules: readonly string[];
  /** The limits the processor reads rules with (processor.ruleLimits): the detector rules are read likewise. */
  ruleLimits?: RuleLimits;
}

/** Digests are this many hex digits of HMAC-SHA256: 64 bits, short to read, too long to collide by chance. */
const DIGEST_HEX = 16;
/** Field-path values shorter than this are not searched for in alert texts (they would match by accident). */
const MIN_REPEATED_VALUE = 6;
/** At most this many field-path values per batch are searched for in its alerts' texts. */
const MAX_REPEATED_VALUES = 256;
const PEM_BEGIN = '-----BEGIN ';
const PEM_END = '-----END ';

interface FieldNode {
  children: Map<string, FieldNode>;
  /** The configured path that ends here. */
  path?: string;
}
const NO_FIELDS: readonly FieldNode[] = [];

/**
 * Secret redaction, the one transform between detection and delivery: the engine has seen the clear values;
 * sinks and the alerts stream get `[REDACTED:<detector>:<digest>]` in their place, where the digest is a keyed
 * HMAC, so equal secrets still correlate and nobody without the key can test a guess. Pure apart from
 * re-reading the detector rules' files when the loaded rule set changes; never mutates its input.
 */
export class Redactor {
  readonly #config: RedactionConfig;
  readonly #key: Buffer;
  readonly #fields: FieldNode;
  readonly #configured: NamedPattern[];
  readonly #fallback: NamedPattern[];
  readonly #ruleLimits: RuleLimits;
  #detectors: Detectors = { list: [], any: undefined };
  #rules: RuleSet | undefined;
  readonly #stats: RedactionStats = { redacted: {}, withheld: 0, scannedChars: 0 };

  constructor(config: RedactionConfig, options: RedactorOptions) {
    this.#config = config;
    this.#key = options.key;
    this.#fields = fieldTrie(config.fields);
    this.#configured = Object.entries(config.patterns).map(([name, pattern]) => ({ name, pattern }));
    this.#ruleLimits = options.ruleLimits ?? DEFAULT_RULE_LIMITS;
    if (!config.enabled) {
      this.#fallback = [];
      return;
    }
    const sources = readRuleSources(options.fallbackRules, this.#ruleLimits);
    const fallback = rulePatterns(sources.ok ? sources.value : [], config.detectorRules);
    const missing = config.detectorRules.filter((id) => !fallback.found.has(id));
    if (missing.length > 0) {
      throw new EdrError(
        'EDR_ERR_CONFIG',
        `redaction.detectorRules: no rule ${missing.join(', ')} in ${options.fallbackRules.join(', ')}`,
      );
    }
    this.#fallback = fallback.patterns;
    const detectors = compileDetectors([...this.#fallback, ...this.#configured], this.#ruleLimits);
    if (!detectors.ok) throw new EdrError('EDR_ERR_CONFIG', `redaction: ${detectors.error.join('; ')}`);
    this.#detectors = detectors.value;
  }

  get enabled(): boolean {
    return this.#config.enabled;
  }

  /** The detector names in use, in scanning order. */
  detectorNames(): string[] {
    return this.#detectors.list.map((detector) => detector.name);
  }

  stats(): RedactionStats {
    return { ...this.#stats, redacted: { ...this.#stats.redacted } };
  }

  /**
   * Redacts a batch. `rules` is the rule set the engine runs: when it changes (a reload), the detector rules
   * are read again from its files, so a pattern added to SECRET_IN_WRITTEN_CONTENT is redacted from then on.
   */
  redact(batch: RedactionInput, rules?: RuleSet): RedactedBatch {
    if (!this.#config.enabled) return { ...batch, clear: batch };
    if (rules && rules !== this.#rules) this.#useRules(rules);
    const repeated = new Map<string, string>();
    const events = batch.events.map((event) => this.#event(event, repeated));
    const known = [...repeated].slice(0, MAX_REPEATED_VALUES);
    const alerts = batch.alerts.map((alert) => this.#alert(alert, known));
    return { events, alerts, clear: batch };
  }

  #useRules(rules: RuleSet): void {
    this.#rules = rules;
    const sources = readRuleSources(rules.files, this.#ruleLimits);
    if (!sources.ok) return; // keep the detectors in use; the engine loaded these files a moment ago
    const loaded = rulePatterns(sources.value, this.#config.detectorRules);
    const fromFallback = this.#fallback.filter(({ name }) => !loaded.found.has(name.split('#')[0]!));
    const detectors = compileDetectors(
      [...loaded.patterns, ...fromFallback, ...this.#configured],
      this.#ruleLimits,
    );
    if (detectors.ok) this.#detectors = detectors.value;
  }

  #event(event: Envelope, repeated: Map<string, string>): Envelope {
    const root = [this.#fields];
    if (this.#clean(event, root)) return event;
    const pass = new Pass(this, this.#config.maxScanPerRecord, repeated, []);
    const target = pass.value(event.target, child(root, 'target'), 1) as string;
    const data = pass.value(event.data, child(root, 'data'), 1) as Envelope['data'];
    const metadata = pass.value(event.metadata, child(root, 'metadata'), 1) as Envelope['metadata'];
    // Only the decision's texts: outcome, guard and severity are the pipeline's own vocabulary.
    const decision = { ...event.decision };
    for (const key of ['message', 'reason'] as const) {
      const text = event.decision[key];
      if (text !== undefined) decision[key] = pass.value(text, child(root, 'decision', key), 1) as string;
    }
    if (!pass.changed) return event;
    return { ...event, target, data, metadata, decision };
  }

  /**
   * The fast path for the usual event, which holds no secret: every string the walk would scan, joined, in
   * one run of the detectors' alternation (a call per string costs several times more). False when a
   * detector matches somewhere (perhaps only across two joined strings), or when a field path, a size or a
   * depth limit applies: then the walk decides.
   */
  #clean(event: Envelope, root: readonly FieldNode[]): boolean {
    const any = this.#detectors.any;
    const texts: string[] = [];
    const survey = new Survey(this.#config, texts);
    const clean =
      survey.value(event.target, child(root, 'target'), 1) &&
      survey.value(event.data, child(root, 'data'), 1) &&
      survey.value(event.metadata, child(root, 'metadata'), 1) &&
      survey.value(event.decision.message, child(root, 'decision', 'message'), 1) &&
      survey.value(event.decision.reason, child(root, 'decision', 'reason'), 1);
    if (!clean) return false;
    this.#stats.scannedChars += survey.scanned;
    return any === undefined || !any.test(texts.join('\n'));
  }

  #alert(alert: Alert, known: ReadonlyArray<readonly [string, string]>): Alert {
    const pass = new Pass(this, this.#config.maxScanPerRecord, undefined, known);
    const root = [this.#fields];
    const summary = pass.value(alert.summary, child(root, 'summary'), 1) as string;
    const groupKey = pass.value(alert.groupKey, child(root, 'groupKey'), 1) as string;
    const enrichment = pass.value(alert.enrichment, child(root, 'enrichment'), 1) as Alert['enrichment'];
    if (!pass.changed) return alert;
    return { ...alert, summary, groupKey, enrichment };
  }

  /** `[REDACTED:<name>:<first 16 hex digits of HMAC-SHA256(key, value)>]`. */
  marker(name: string, value: string): string {
    this.#stats.redacted[name] = (this.#stats.redacted[name] ?? 0) + 1;
    const digest = createHmac('sha256', this.#key).update(value).digest('hex').slice(0, DIGEST_HEX);
    return `[REDACTED:${name}:${digest}]`;
  }

  withheld(name: string, value: string): string {
    this.#stats.withheld++;
    return this.marker(name, value);
  }

  get config(): RedactionConfig {
    return this.#config;
  }

  get detectors(): Detectors {
    return this.#detectors;
  }

  countScanned(chars: number): void {
    this.#stats.scannedChars += chars;
  }
}

/** What a Pass would scan, collected without changing anything; false as soon as the Pass must run. */
class Survey {
  scanned = 0;

  constructor(
    private readonly config: RedactionConfig,
    private readonly texts: string[],
  ) {}

  value(value: unknown, fields: readonly FieldNode[], depth: number): boolean {
    if (value === undefined) return true;
    if (fields.some((node) => node.path !== undefined)) return false;
    if (typeof value === 'string') return this.#text(value, true);
    if (value === null || typeof value !== 'object') return true;
    if (depth > this.config.maxDepth) return false;
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        if (!this.value(value[index], child(fields, String(index)), depth + 1)) return false;
      }
      return true;
    }
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (!this.#text(key, false)) return false;
      if (!this.value((value as Record<string, unknown>)[key], child(fields, key), depth + 1)) return false;
    }
    return true;
  }

  #text(text: string, budgeted: boolean): boolean {
    if (text.length > this.config.maxScanPerValue) return false;
    if (budgeted) {
      this.scanned += text.length;
      if (this.scanned > this.config.maxScanPerRecord) return false;
    }
    if (text !== '') this.texts.push(text);
    return true;
  }
}

/** One record's walk, with its scanning budget. */
class Pass {
  changed = false;

  constructor(
    private readonly redactor: Redactor,
    private budget: number,
    /** Field-path values found in events, clear → marker, for the batch's alerts. */
    private readonly repeated: Map<string, string> | undefined,
    private readonly known: ReadonlyArray<readonly [string, string]>,
  ) {}

  value(value: unknown, fields: readonly FieldNode[], depth: number): unknown {
    const path = fields.find((node) => node.path !== undefined)?.path;
    if (path !== undefined) return this.#replaceField(value, path);
    if (typeof value === 'string') return this.#string(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > this.redactor.config.maxDepth) {
      this.changed = true;
      return this.redactor.withheld('too-deep', JSON.stringify(value) ?? '');
    }
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let index = 0; index < value.length; index++) {
        const item = value[index];
        const next = this.value(item, child(fields, String(index)), depth + 1);
        if (next !== item) {
          copy ??= value.slice();
          copy[index] = next;
        }
      }
      return copy ?? value;
    }
    const entries = Object.entries(value);
    let rebuilt = false;
    for (const entry of entries) {
      const [key, item] = entry;
      const nextKey = this.#string(key, false);
      const next = this.value(item, child(fields, key), depth + 1);
      if (nextKey !== key || next !== item) {
        entry[0] = nextKey;
        entry[1] = next;
        rebuilt = true;
      }
    }
    // fromEntries defines own properties, so a `__proto__` key stays a key.
    return rebuilt ? Object.fromEntries(entries) : value;
  }

  #replaceField(value: unknown, path: string): unknown {
    if (value === undefined) return value;
    this.changed = true;
    const clear = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
    const marker = this.redactor.marker(path, clear);
    if (this.repeated && typeof value === 'string' && value.length >= MIN_REPEATED_VALUE) {
      this.repeated.set(value, marker);
    }
    return marker;
  }

  /**
   * Detectors over the first maxScanPerValue characters, within the record's budget; the rest is withheld.
   * Keys are not held to the budget (records are bounded in size upstream): a withheld key would reshape
   * the document.
   */
  #string(text: string, budgeted = true): string {
    if (text === '') return text;
    const { maxScanPerValue } = this.redactor.config;
    let scanned = Math.min(text.length, maxScanPerValue, budgeted ? this.budget : maxScanPerValue);
    if (budgeted) this.budget -= scanned;
    this.redactor.countScanned(scanned);
    if (scanned < text.length) scanned = tokenStart(text, scanned);
    const head = scanned === text.length ? text : text.slice(0, scanned);
    let out = this.redactor.detectors.any?.test(head) ? this.#detect(head) : head;
    for (const [clear, marker] of this.known) if (out.includes(clear)) out = out.split(clear).join(marker);
    if (scanned < text.length) out += this.redactor.withheld('unscanned', text.slice(scanned));
    if (out === text) return text;
    this.changed = true;
    return out;
  }

  /**
   * Every detector's matches, merged where they overlap. A match that opens a PEM block covers the block to
   * its END line (the rule's pattern is the header only), and the search goes on after the block.
   */
  #detect(text: string): string {
    const spans: Array<{ start: number; end: number; name: string }> = [];
    for (const { name, regex } of this.redactor.detectors.list) {
      for (let from = 0; from <= text.length; ) {
        const match = regex.exec(text, from);
        if (!match) break;
        let end = match.index + match.text.length;
        if (text.startsWith(PEM_BEGIN, match.index)) end = pemBlockEnd(text, end);
        if (end > match.index) spans.push({ start: match.index, end, name });
        from = end > match.index ? end : match.index + 1;
      }
    }
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    let out = '';
    let last = 0;
    let open: { start: number; end: number; name: string } | undefined;
    const close = () => {
      if (!open) return;
      out += text.slice(last, open.start) + this.redactor.marker(open.name, text.slice(open.start, open.end));
      last = open.end;
    };
    for (const span of spans) {
      if (open && span.start < open.end) {
        open.end = Math.max(open.end, span.end);
        continue;
      }
      close();
      open = { ...span };
    }
    close();
    return out + text.slice(last);
  }
}

/** How far back a cut may move to keep a token (a key, a base64 run) whole on the withheld side. */
const MAX_TOKEN_BACKOFF = 256;

/** `cut`, moved back to the start of the token it would split, so no part of a secret stays in clear. */
function tokenStart(text: string, cut: number): number {
  const floor = Math.max(0, cut - MAX_TOKEN_BACKOFF);
  for (let index = cut; index > floor; index--) if (!isTokenChar(text.charCodeAt(index - 1))) return index;
  return floor === 0 ? 0 : cut;
}

/** Letters, digits and `+/=_-`: what keys, tokens and base64 are made of. */
function isTokenChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) ||
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    code === 43 ||
    code === 47 ||
    code === 61 ||
    code === 95 ||
    code === 45
  );
}

/** The end of the `-----END …-----` line after `from`, or the end of the text when there is none. */
function pemBlockEnd(text: string, from: number): number {
  const end = text.indexOf(PEM_END, from);
  if (end === -1) return text.length;
  const close = text.indexOf('-----', end + PEM_END.length);
  return close === -1 ? text.length : close + 5;
}

function fieldTrie(paths: readonly string[]): FieldNode {
  const root: FieldNode = { children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const segment of path.split('.')) {
      let next = node.children.get(segment);
      if (!next) {
        next = { children: new Map() };
        node.children.set(segment, next);
      }
      node = next;
    }
    node.path = path;
  }
  return root;
}

/** The trie nodes for `key` (then `more`) under `nodes`: its own and the `*` ones. */
function child(nodes: readonly FieldNode[], key: string, ...more: string[]): readonly FieldNode[] {
  if (more.length > 0) return child(child(nodes, key), more[0]!, ...more.slice(1));
  if (nodes.length === 0) return NO_FIELDS;
  const out: FieldNode[] = [];
  for (const node of nodes) {
    const exact = node.children.get(key);
    if (exact) out.push(exact);
    const any = node.children.get('*');
    if (any) out.push(any);
  }
  return out.length === 0 ? NO_FIELDS : out;
}
