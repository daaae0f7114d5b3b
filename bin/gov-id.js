#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader on whatever Node runs this file. npm scripts and
// npx put the project's pinned Node 22 (the `node` devDependency) first on PATH.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
