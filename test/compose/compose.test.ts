import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_PREFIX } from '../../core/config.ts';
import { KAFKA_VERSION } from '../harness/services.ts';
import { REPO_ROOT } from '../support/shared.ts';
import {
  COMPONENTS,
  type Component,
  consumers,
  type Env,
  isComponent,
  RESERVED,
  segments,
  valueAt,
} from './app-config.ts';
import { interpolate, readCompose, type Service } from './compose-file.ts';
import { readEnvFile } from './env-file.ts';

const COMPOSE = join(REPO_ROOT, 'docker-compose.yml');
const EXAMPLE = readEnvFile(join(REPO_ROOT, '.env.example'));
/** A fresh clone has no .env; a user's copy starts as .env.example. Both must give a working file. */
const FRESH = readCompose(COMPOSE, {});
const CONFIGURED = readCompose(COMPOSE, EXAMPLE.values);
const services = [...CONFIGURED.services.values()];
const appServices = services.filter((service) => service.build !== undefined);

/** What a container's environment holds: its env_files (.env as copied from .env.example), then `environment`. */
function containerEnv(service: Service, extra: Env = {}): Record<string, string> {
  const fromFiles = service.envFiles.some((file) => file.path === '.env')
    ? { ...EXAMPLE.values, ...extra }
    : {};
  return { ...fromFiles, ...service.environment };
}

/** The env with CLAWDSTRIKE_EDR_CONFIG pointed at the host file that the service bind-mounts there. */
function hostEnv(service: Service, env: Env): Record<string, string> {
  const inContainer = env[`${ENV_PREFIX}CONFIG`];
  const mount = service.mounts.find(
    (candidate) => candidate.type === 'bind' && candidate.target === inContainer,
  );
  if (!inContainer || !mount)
    throw new Error(`${service.name}: ${ENV_PREFIX}CONFIG=${inContainer} is not a bind-mounted file`);
  return { ...env, [`${ENV_PREFIX}CONFIG`]: resolve(REPO_ROOT, mount.source) };
}

function componentOf(service: Service): Component | undefined {
  return isComponent(service.command[0]) ? service.command[0] : undefined;
}

function hostOf(address: string): string {
  return new URL(address.includes('://') ? address : `tcp://${address}`).hostname;
}

describe('docker-compose.yml', () => {
  it('interpolates without a .env (fresh clone) and with the values of .env.example', () => {
    expect([...FRESH.services.keys()].sort()).toEqual([...CONFIGURED.services.keys()].sort());
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's syntax, not a template literal
    expect(() => interpolate('${MISSING:?set it}', {})).toThrow(/MISSING/);
  });

  it('gives every service an image or a build', () => {
    for (const service of services)
      expect(service.image ?? service.build, `${service.name} has neither image nor build`).toBeDefined();
  });

  it('publishes no host port twice', () => {
    for (const file of [FRESH, CONFIGURED]) {
      const bindings = [...file.services.values()].flatMap((service) =>
        service.ports
          .filter((port) => Number.isInteger(port.published))
          .map((port) => ({ service: service.name, ...port })),
      );
      bindings.forEach((a, index) => {
        for (const b of bindings.slice(index + 1)) {
          // 0.0.0.0 takes the port on every address, so it clashes with any other binding of that port.
          const sameAddress = a.hostIp === b.hostIp || a.hostIp === '0.0.0.0' || b.hostIp === '0.0.0.0';
          const clash = sameAddress && a.published === b.published && a.protocol === b.protocol;
          expect(clash, `${a.service} and ${b.service} both publish ${a.published}/${a.protocol}`).toBe(
            false,
          );
        }
      });
    }
  });

  it('depends only on real services, without a cycle, and on conditions those services can meet', () => {
    for (const service of services)
      for (const [name, dependency] of Object.entries(service.dependsOn)) {
        const target = CONFIGURED.services.get(name);
        expect(target, `${service.name} depends on unknown service ${name}`).toBeDefined();
        if (dependency.condition === 'service_healthy')
          expect(
            target?.healthcheck,
            `${service.name} waits for ${name} to be healthy: it has no healthcheck`,
          ).toBeDefined();
        if (dependency.condition === 'service_completed_successfully')
          expect(
            target?.restart,
            `${name} must not restart if ${service.name} waits for it to complete`,
          ).toBe('no');
        // A dependency in a profile the service is not in must be optional, or the default stack cannot start.
        if (
          target &&
          target.profiles.length > 0 &&
          !target.profiles.some((profile) => service.profiles.includes(profile))
        )
          expect(
            dependency.required,
            `${service.name} → ${name} (profile ${target.profiles}) needs required: false`,
          ).toBe(false);
      }
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: string[]) => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') throw new Error(`depends_on cycle: ${[...path, name].join(' → ')}`);
      state.set(name, 'visiting');
      for (const next of Object.keys(CONFIGURED.services.get(name)?.dependsOn ?? {}))
        visit(next, [...path, name]);
      state.set(name, 'done');
    };
    for (const name of CONFIGURED.services.keys()) visit(name, []);
  });

  it('mounts and builds only what exists in the repo, and declares its named volumes', () => {
    for (const service of services) {
      for (const mount of service.mounts) {
        if (mount.type === 'bind')
          expect(
            existsSync(resolve(REPO_ROOT, mount.source)),
            `${service.name} mounts missing ${mount.source}`,
          ).toBe(true);
        else
          expect(
            CONFIGURED.volumes.has(mount.source),
            `${service.name}: volume ${mount.source} not declared`,
          ).toBe(true);
      }
      for (const file of service.envFiles) {
        if (file.required)
          expect(existsSync(resolve(REPO_ROOT, file.path)), `${service.name}: ${file.path}`).toBe(true);
        // .env is each user's copy of .env.example: optional in compose, the example committed.
        else expect(file.path === '.env' && existsSync(join(REPO_ROOT, '.env.example'))).toBe(true);
      }
      if (service.build) {
        const context = resolve(REPO_ROOT, service.build.context);
        expect(statSync(context).isDirectory(), `${service.name}: build context`).toBe(true);
        expect(existsSync(resolve(context, service.build.dockerfile)), `${service.name}: Dockerfile`).toBe(
          true,
        );
      }
    }
  });

  it('has healthchecks for the broker, Elasticsearch, Kibana, the collector and the processor', () => {
    for (const name of ['kafka', 'elasticsearch', 'kibana', 'collector', 'processor', 'nats']) {
      const check = CONFIGURED.services.get(name)?.healthcheck;
      expect(check && !check.disabled && check.test.length > 1, `${name} has no healthcheck`).toBe(true);
    }
  });

  it('runs Kafka, Elasticsearch and Kibana at the versions the tests use', () => {
    const tag = (name: string) => CONFIGURED.services.get(name)?.image?.split(':').at(-1);
    expect(tag('kafka')).toBe(KAFKA_VERSION);
    expect(tag('kibana')).toBe(tag('elasticsearch'));
    // The ES client speaks only its own major (it sends compatible-with=<major>).
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const clientMajor = pkg.dependencies['@elastic/elasticsearch']?.split('.')[0];
    expect(tag('elasticsearch')?.split('.')[0]).toBe(clientMajor);
    expect(tag('elasticsearch')).toBe('9.2.4');
  });
});

describe('the app services and their configuration', () => {
  it('run a known command, each with the config file mounted and named by CLAWDSTRIKE_EDR_CONFIG', () => {
    expect(appServices.map((service) => service.name).sort()).toEqual([
      'collector',
      'console',
      'processor',
      'setup',
      'simulator',
    ]);
    for (const service of appServices) {
      expect(['collector', 'processor', 'setup', 'simulate', 'console']).toContain(service.command[0]);
      expect(() => hostEnv(service, containerEnv(service))).not.toThrow();
    }
    expect(
      EXAMPLE.values[`${ENV_PREFIX}API_KEY`],
      'the collector and the simulator need an API key',
    ).toBeTruthy();
  });

  it('load without errors for every service, on Kafka and on NATS', () => {
    const variants: Env[] = [{}, { [`${ENV_PREFIX}TRANSPORT__KIND`]: 'nats' }];
    for (const extra of variants) {
      for (const service of appServices) {
        const component = componentOf(service);
        if (!component) continue;
        const config = COMPONENTS[component].load(hostEnv(service, containerEnv(service, extra)));
        // The console reads stores, not a broker.
        if (!COMPONENTS[component].sections.includes('transport')) continue;
        expect(valueAt(config, ['transport', 'kind'])).toBe(extra[`${ENV_PREFIX}TRANSPORT__KIND`] ?? 'kafka');
      }
    }
  });

  it('map every CLAWDSTRIKE_EDR_* variable, set or documented, onto a config key some component reads', () => {
    const names = new Map<string, string>();
    for (const service of appServices)
      for (const [name, value] of Object.entries(service.environment)) names.set(name, value);
    for (const [name, value] of Object.entries({ ...EXAMPLE.documented, ...EXAMPLE.values }))
      names.set(name, value);
    const base = hostEnv(appServices[0]!, {
      [`${ENV_PREFIX}CONFIG`]: appServices[0]!.environment[`${ENV_PREFIX}CONFIG`] ?? '',
    });
    const unmapped: string[] = [];
    for (const [name, value] of names) {
      if (!name.startsWith(ENV_PREFIX)) continue;
      if (segments(name).join('__') in RESERVED) continue;
      if (consumers(name, value, base).length === 0) unmapped.push(name);
    }
    expect(unmapped, 'variables no component turns into config (a typo, or a section nobody reads)').toEqual(
      [],
    );
    // The API key is read directly: the collector turns it into an ingest key.
    const collector = COMPONENTS.collector.load({ ...base, [`${ENV_PREFIX}API_KEY`]: 'k' }) as {
      auth: { keys: Array<{ id: string }> };
    };
    expect(collector.auth.keys.map((key) => key.id)).toContain('env');
  });

  it('point at the compose services: brokers, Elasticsearch, Kibana; and listen where ports and healthchecks look', () => {
    const names = new Set(CONFIGURED.services.keys());
    const load = (component: Component, extra: Env = {}) => {
      const service = appServices.find((candidate) => componentOf(candidate) === component)!;
      return { service, config: COMPONENTS[component].load(hostEnv(service, containerEnv(service, extra))) };
    };
    const { config: setup } = load('setup');
    const hosts = [
      ...(valueAt(setup, ['transport', 'kafka', 'brokers']) as string[]),
      ...(valueAt(setup, ['transport', 'nats', 'servers']) as string[]),
      valueAt(setup, ['setup', 'kibanaUrl']) as string,
      ...(valueAt(setup, ['sinks', 'sinks']) as Array<{ type: string; node?: string }>)
        .filter((sink) => sink.type === 'elasticsearch')
        .map((sink) => String(sink.node)),
      String(valueAt(load('console').config, ['console', 'store', 'node'])),
    ].map(hostOf);
    expect(hosts.filter((host) => !names.has(host))).toEqual([]);
    expect(hosts).toEqual(expect.arrayContaining(['kafka', 'nats', 'kibana', 'elasticsearch']));

    for (const [component, path] of [
      ['collector', ['server', 'port']],
      ['processor', ['processor', 'port']],
      ['console', ['console', 'port']],
    ] as const) {
      const { service, config } = load(component);
      const port = valueAt(config, path);
      expect(
        service.ports.map((candidate) => candidate.target),
        `${component} publishes its port`,
      ).toContain(port);
      expect(service.healthcheck?.test.join(' '), `${component} healthcheck`).toContain(`:${port}/readyz`);
    }
  });
});

// `docker compose config` validates the file with Compose itself. It needs the compose plugin, which this
// project's CI machine lacks (a bare Docker client); the structural checks above cover that case, and the
// test is only registered where the plugin exists, so no run reports a skipped test.
const hasCompose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
if (hasCompose) {
  describe('docker compose config', () => {
    it('accepts the file (fresh clone and with .env.example)', () => {
      const run = (args: string[]) =>
        execFileSync('docker', ['compose', ...args, 'config', '-q'], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect(() => run(['--project-directory', REPO_ROOT, '--env-file', '/dev/null'])).not.toThrow();
      expect(() => run(['--env-file', '.env.example'])).not.toThrow();
      expect(() =>
        run(['--env-file', '.env.example', '--profile', 'nats', '--profile', 'demo']),
      ).not.toThrow();
    });
  });
} else {
  console.info('[compose] docker compose plugin not installed: `docker compose config -q` not run');
}
