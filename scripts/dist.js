// The compiled copy of the sources in dist/, which lets `gov-id` start without compiling
// TypeScript: scripts/build-dist.js builds it (`npm run build`; `npm ci` runs it as the prepare
// script), and the bin asks compiledMain() whether it may use it. The build only strips types
// (tsc with noCheck), in a few seconds; type checking stays with `npm run typecheck`.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = 'tsconfig.build.json';
const DIST = 'dist';
/** Written when a build succeeds, dated when it started. */
const STAMP = '.built';

/**
 * The folders compiled: the build configuration's `include`.
 * @param {string} root
 * @returns {string[]}
 */
function sourceFolders(root) {
  return JSON.parse(readFileSync(join(root, CONFIG), 'utf8')).include;
}

/**
 * dist/cli/main.js as a URL when the last build succeeded and started after every file and folder
 * of the sources last changed (a folder changes when a file in it is added, renamed or removed);
 * else null: the sources must run.
 * @returns {string | null}
 */
export function compiledMain(root = ROOT) {
  try {
    const built = statSync(join(root, DIST, STAMP)).mtimeMs;
    /** @param {string} path */
    const changed = (path) => statSync(path).mtimeMs > built;
    for (const folder of sourceFolders(root)) {
      const dir = join(root, folder);
      if (changed(dir) || readdirSync(dir, { recursive: true, encoding: 'utf8' }).some((entry) => changed(join(dir, entry)))) return null;
    }
    return pathToFileURL(join(root, DIST, 'cli', 'main.js')).href;
  } catch {
    // Never built, or a file went away while we looked (an editor saving): run the sources.
    return null;
  }
}

/** Compiles the sources into a fresh dist/; without TypeScript (npm ci --omit=dev) it only says so. */
export function buildDist(root = ROOT) {
  let tsc;
  try {
    tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write('gov-id: TypeScript is not installed (npm ci --omit=dev?); gov-id will compile its sources at every start\n');
    return;
  }
  const started = new Date();
  rmSync(join(root, DIST), { recursive: true, force: true });
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, CONFIG)], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`tsc -p ${CONFIG} failed (exit status ${run.status ?? run.signal})`);
  const stamp = join(root, DIST, STAMP);
  writeFileSync(stamp, `${started.toISOString()}\n`);
  utimesSync(stamp, started, started);
}
