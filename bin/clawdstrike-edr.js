#!/usr/bin/env node
// From a checkout the TypeScript sources run directly through tsx, so `npx clawdstrike-edr` works right
// after `npm ci`; an installed package or the container image, which ship no sources, run the compiled dist/.
import { existsSync } from 'node:fs';

const source = new URL('../cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
