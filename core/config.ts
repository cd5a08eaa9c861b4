import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { EdrError } from './errors.ts';

/** A list that environment variables may give as `a,b,c`. */
export function commaList<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((part) => part.trim())
            .filter(Boolean)
        : value,
    z.array(item),
  );
}

/** Every environment variable the application reads starts with this. */
export const ENV_PREFIX = 'CLAWDSTRIKE_EDR_';

export interface ConfigInputs {
  /** Config file (JSON, or YAML by extension); defaults to the `<PREFIX>CONFIG` env var. */
  file?: string;
  /** Defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Applied last, e.g. a --port flag: `{ path: ['server', 'port'], value: 9000, origin: '--port' }`. */
  overrides?: readonly ConfigOverride[];
}

export interface ConfigOverride {
  path: readonly string[];
  value: unknown;
  origin: string;
}

/** Env names under the prefix that are not `SECTION__KEY` settings. */
const RESERVED = new Set(['CONFIG', 'API_KEY']);

/**
 * Builds a config from a file, then `<PREFIX><SECTION>__<KEY>` env vars (SNAKE_CASE segments map to camelCase
 * keys; values are coerced to the type the schema expects at that key), then overrides; validates it
 * once. Sections the schema does not know are left to other components sharing the prefix.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  prefix: string,
  inputs: ConfigInputs = {},
): z.output<S> {
  const env = inputs.env ?? process.env;
  const file = inputs.file ?? env[`${prefix}CONFIG`];
  const tree = file ? readConfigFile(file) : {};
  const layers = [...envLayers(schema, prefix, env), ...(inputs.overrides ?? [])];
  for (const layer of layers) {
    const expected = schemaAt(schema, layer.path);
    if (!expected)
      throw new EdrError('EDR_ERR_CONFIG', `${layer.path.join('.')} (${layer.origin}): unknown key`);
    setPath(tree, layer.path, coerce(layer.value, expected));
  }
  const parsed = schema.safeParse(tree);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String);
    const layer = layers.findLast((candidate) => candidate.path.every((key, index) => path[index] === key));
    const origin = layer ? ` (${layer.origin})` : file ? ` (in ${file})` : '';
    return `${path.join('.') || '(root)'}${origin}: ${issue.message}`;
  });
  throw new EdrError('EDR_ERR_CONFIG', problems.join('; '));
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new EdrError('EDR_ERR_CONFIG', `cannot read config file ${file}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('the top level must be an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new EdrError('EDR_ERR_CONFIG', `config file ${file}: ${(error as Error).message}`);
  }
}

function envLayers(
  schema: z.ZodType,
  prefix: string,
  env: Readonly<Record<string, string | undefined>>,
): ConfigOverride[] {
  const layers: ConfigOverride[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(prefix) || value === undefined) continue;
    const rest = name.slice(prefix.length);
    if (RESERVED.has(rest)) continue;
    const path = envPath(schema, rest.split('__'));
    if (path) layers.push({ path, value, origin: name });
  }
  return layers;
}

/** SNAKE segments to keys: camelCase for object fields, `a-b` for record keys (source names). */
function envPath(schema: z.ZodType, segments: string[]): string[] | undefined {
  const path: string[] = [];
  let node: z.ZodType | undefined = schema;
  for (const segment of segments) {
    const container: z.ZodType | undefined = node ? unwrap(node) : undefined;
    const inRecord = container?._zod.def.type === 'record';
    path.push(inRecord ? segment.toLowerCase().replaceAll('_', '-') : camelCase(segment));
    node = node ? schemaAt(node, path.slice(-1)) : undefined;
    // An unknown top-level section belongs to another component reading the same environment.
    if (!node && path.length === 1) return undefined;
  }
  return path;
}

function camelCase(snake: string): string {
  return snake.toLowerCase().replace(/_([a-z0-9])/g, (_, next: string) => next.toUpperCase());
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
}

/** Looks through defaults, optionals and pipes to the schema that checks the value. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as unknown as Def;
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in && def.out) {
      current = (def.out._zod.def as unknown as Def).type === 'transform' ? def.in : def.out;
    } else return current;
  }
}

function schemaAt(schema: z.ZodType, path: readonly string[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const key of path) {
    if (!current) return undefined;
    const def = unwrap(current)._zod.def as unknown as Def;
    current = def.type === 'object' ? def.shape?.[key] : def.type === 'record' ? def.valueType : undefined;
  }
  return current;
}

/** Env values are strings; give the schema the type it checks so its messages stay about the value. */
function coerce(value: unknown, schema: z.ZodType): unknown {
  if (typeof value !== 'string') return value;
  const type = (unwrap(schema)._zod.def as unknown as Def).type;
  const text = value.trim();
  if (type === 'number') return text !== '' && Number.isFinite(Number(text)) ? Number(text) : value;
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : value;
  if (type === 'object' || type === 'record' || (type === 'array' && text.startsWith('['))) {
    try {
      return JSON.parse(text);
    } catch {
      return value;
    }
  }
  if (type === 'array')
    return text
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
  return value;
}

function setPath(tree: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}
