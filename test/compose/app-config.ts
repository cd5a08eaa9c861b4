import { CollectorConfigSchema, loadCollectorConfig } from '../../collector/index.ts';
import { ConsoleConfigSchema } from '../../console/server/serve.ts';
import { ENV_PREFIX, loadConfig } from '../../core/config.ts';
import { ProcessorConfigSchema } from '../../processor/index.ts';
import { loadSetupConfig, SetupConfigSchema } from '../../setup/index.ts';

/**
 * The app's components as the compose services run them (`command[0]`), each with its own config loader,
 * so the test checks the environment against exactly what each container will read.
 */
export const COMPONENTS = {
  collector: {
    sections: Object.keys(CollectorConfigSchema.shape),
    load: (env: Env) => loadCollectorConfig({ env }),
  },
  processor: {
    sections: Object.keys(ProcessorConfigSchema.shape),
    load: (env: Env) => loadConfig(ProcessorConfigSchema, ENV_PREFIX, { env }),
  },
  setup: { sections: Object.keys(SetupConfigSchema.shape), load: (env: Env) => loadSetupConfig({ env }) },
  console: {
    sections: Object.keys(ConsoleConfigSchema.shape),
    load: (env: Env) => loadConfig(ConsoleConfigSchema, ENV_PREFIX, { env }),
  },
} as const;
export type Component = keyof typeof COMPONENTS;
export type Env = Readonly<Record<string, string>>;

/** Env names under the prefix that are read directly rather than mapped onto a config key. */
export const RESERVED = {
  CONFIG: 'names the config file',
  API_KEY: "the collector's ingest key (and the simulator's)",
};

export function isComponent(name: string | undefined): name is Component {
  return name !== undefined && name in COMPONENTS;
}

/** The config path segments of `CLAWDSTRIKE_EDR_A__B_C`: ['A', 'B_C']. */
export function segments(name: string): string[] {
  return name.slice(ENV_PREFIX.length).split('__');
}

/** Walks a loaded config by env segments, matching keys the loader's way (SNAKE → camelCase or a-b). */
export function valueAt(config: unknown, path: readonly string[]): unknown {
  const norm = (key: string) => key.replace(/[-_]/g, '').toLowerCase();
  let current: unknown = config;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    const key = Object.keys(current).find((candidate) => norm(candidate) === norm(segment));
    current = key === undefined ? undefined : (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * Which components turn `name=value` into config: its section must be one the component knows (others are
 * skipped silently by the loader), loading must succeed, and the loaded value must be the one given.
 */
export function consumers(name: string, value: string, base: Env): Component[] {
  const found: Component[] = [];
  const [section = ''] = segments(name);
  for (const component of Object.keys(COMPONENTS) as Component[]) {
    const { sections, load } = COMPONENTS[component];
    if (!sections.some((key) => key.toLowerCase() === section.replace(/_/g, '').toLowerCase())) continue;
    let config: unknown;
    try {
      config = load({ ...base, [name]: value });
    } catch (error) {
      throw new Error(`${name}=${value} breaks the ${component} config: ${(error as Error).message}`);
    }
    const loaded = valueAt(config, segments(name));
    const text = Array.isArray(loaded)
      ? loaded.join(',')
      : typeof loaded === 'object'
        ? undefined
        : String(loaded);
    if (text === value.trim() || (/^[[{]/.test(value.trim()) && loaded !== undefined)) found.push(component);
  }
  return found;
}
