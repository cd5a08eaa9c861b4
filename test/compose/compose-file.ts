import { readFileSync } from 'node:fs';
import YAML from 'yaml';

/** docker-compose.yml read the way Compose reads it: merge keys, `${VAR...}` interpolation, both syntaxes. */

export interface Port {
  hostIp: string;
  published: number;
  target: number;
  protocol: string;
}

export interface Mount {
  type: 'bind' | 'volume';
  source: string;
  target: string;
}

export interface EnvFileRef {
  path: string;
  required: boolean;
}

export interface Dependency {
  condition: string;
  required: boolean;
}

export interface Service {
  name: string;
  image?: string;
  build?: { context: string; dockerfile: string };
  command: string[];
  profiles: string[];
  restart?: string;
  environment: Record<string, string>;
  envFiles: EnvFileRef[];
  mounts: Mount[];
  ports: Port[];
  dependsOn: Record<string, Dependency>;
  healthcheck?: { test: string[]; disabled: boolean };
}

export interface ComposeFile {
  services: Map<string, Service>;
  volumes: Set<string>;
}

/** The file as Compose validates it: YAML with merge keys resolved, then every string interpolated. */
export function readComposeDocument(path: string, vars: Readonly<Record<string, string>>): unknown {
  return interpolateTree(YAML.parse(readFileSync(path, 'utf8'), { merge: true }), vars);
}

export function readCompose(path: string, vars: Readonly<Record<string, string>>): ComposeFile {
  const root = record(readComposeDocument(path, vars), 'the file');
  const services = new Map<string, Service>();
  for (const [name, value] of Object.entries(record(root.services, 'services')))
    services.set(name, service(name, record(value, `service ${name}`)));
  return { services, volumes: new Set(Object.keys(record(root.volumes ?? {}, 'volumes'))) };
}

/** `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`. */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (
      whole,
      braced: string | undefined,
      operator: string | undefined,
      argument: string | undefined,
      bare: string | undefined,
    ) => {
      if (whole === '$$') return '$';
      const name = braced ?? bare ?? '';
      const value = vars[name];
      const unsetOrEmpty = value === undefined || value === '';
      const missing = operator?.startsWith(':') ? unsetOrEmpty : value === undefined;
      switch (operator) {
        case ':-':
        case '-':
          return missing ? (argument ?? '') : (value ?? '');
        case ':?':
        case '?':
          if (missing) throw new Error(`required variable ${name} is missing: ${argument}`);
          return value ?? '';
        case ':+':
        case '+':
          return missing ? '' : (argument ?? '');
        default:
          return value ?? '';
      }
    },
  );
}

function interpolateTree(value: unknown, vars: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((item) => interpolateTree(item, vars));
  if (isRecord(value))
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateTree(item, vars)]));
  return value;
}

function service(name: string, raw: Record<string, unknown>): Service {
  const result: Service = {
    name,
    command: list(raw.command),
    profiles: list(raw.profiles),
    environment: environment(raw.environment),
    envFiles: envFiles(raw.env_file),
    mounts: (Array.isArray(raw.volumes) ? raw.volumes : []).map((entry) => mount(entry)),
    ports: (Array.isArray(raw.ports) ? raw.ports : []).map((entry) => port(entry, name)),
    dependsOn: dependsOn(raw.depends_on),
  };
  if (typeof raw.image === 'string') result.image = raw.image;
  if (typeof raw.restart === 'string') result.restart = raw.restart;
  if (typeof raw.build === 'string') result.build = { context: raw.build, dockerfile: 'Dockerfile' };
  else if (isRecord(raw.build))
    result.build = {
      context: String(raw.build.context ?? '.'),
      dockerfile: String(raw.build.dockerfile ?? 'Dockerfile'),
    };
  if (isRecord(raw.healthcheck)) {
    const test = raw.healthcheck.test;
    result.healthcheck = {
      test: typeof test === 'string' ? ['CMD-SHELL', test] : list(test),
      disabled: raw.healthcheck.disable === true || (Array.isArray(test) && test[0] === 'NONE'),
    };
  }
  return result;
}

function environment(raw: unknown): Record<string, string> {
  if (Array.isArray(raw))
    return Object.fromEntries(
      raw.map((entry) => {
        const [key, ...rest] = String(entry).split('=');
        return [key ?? '', rest.join('=')];
      }),
    );
  return isRecord(raw)
    ? Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, String(value ?? '')]))
    : {};
}

function envFiles(raw: unknown): EnvFileRef[] {
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).map((entry) =>
    isRecord(entry)
      ? { path: String(entry.path), required: entry.required !== false }
      : { path: String(entry), required: true },
  );
}

function mount(raw: unknown): Mount {
  if (isRecord(raw)) {
    const type = raw.type === 'bind' ? 'bind' : 'volume';
    return { type, source: String(raw.source ?? ''), target: String(raw.target ?? '') };
  }
  const [source = '', target = ''] = String(raw).split(':');
  // Short syntax: a path (./x, /x, ~/x) is a bind mount, a bare name a named volume.
  return { type: /^[./~]/.test(source) ? 'bind' : 'volume', source, target };
}

function port(raw: unknown, service: string): Port {
  if (isRecord(raw))
    return {
      hostIp: String(raw.host_ip ?? '0.0.0.0'),
      published: Number(raw.published),
      target: Number(raw.target),
      protocol: String(raw.protocol ?? 'tcp'),
    };
  const match = /^(?:(\d+\.\d+\.\d+\.\d+):)?(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(String(raw));
  if (!match) throw new Error(`${service}: cannot read port ${String(raw)}`);
  return {
    hostIp: match[1] ?? '0.0.0.0',
    published: Number(match[2] ?? Number.NaN),
    target: Number(match[3]),
    protocol: match[4] ?? 'tcp',
  };
}

function dependsOn(raw: unknown): Record<string, Dependency> {
  if (Array.isArray(raw))
    return Object.fromEntries(
      raw.map((name) => [String(name), { condition: 'service_started', required: true }]),
    );
  if (!isRecord(raw)) return {};
  return Object.fromEntries(
    Object.entries(raw).map(([name, value]) => {
      const entry = isRecord(value) ? value : {};
      return [
        name,
        { condition: String(entry.condition ?? 'service_started'), required: entry.required !== false },
      ];
    }),
  );
}

function list(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  return Array.isArray(raw) ? raw.map(String) : [String(raw)];
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`${what} must be a mapping`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
