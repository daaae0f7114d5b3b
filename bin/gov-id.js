#!/usr/bin/env node
// `gov-id`: runs the compiled CLI in dist/ when it is up to date with the sources (`npm ci` builds
// it; `npm run build` rebuilds it), else the TypeScript sources through tsx, so a checkout being
// edited never runs stale code. npm scripts and npx put the project's pinned Node 22 (the `node`
// devDependency) first on PATH.
import { compiledMain } from '../scripts/dist.js';

const compiled = compiledMain();
if (compiled) {
  process.setSourceMapsEnabled(true);
  await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
