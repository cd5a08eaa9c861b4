import type { FastifyPluginAsync } from 'fastify';

/**
 * What fastify-plugin does, without the dependency: the plugin's hooks apply to the context registering it
 * (not a child of its own), and it shows up under `name` in fastify's plugin tree and errors.
 */
export function exposed<Options extends Record<string, unknown>>(
  name: string,
  plugin: FastifyPluginAsync<Options>,
): FastifyPluginAsync<Options> {
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: name,
    [Symbol.for('plugin-meta')]: { name },
  });
}
