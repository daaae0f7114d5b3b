/**
 * When the bin may run the compiled copy in dist/ (scripts/dist.js): only after a build that
 * started after every change to the sources, so an edited checkout runs its sources. Checked on a
 * project folder of its own, with file times set explicitly.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compiledMain } from '../../scripts/dist.js';

const HOUR = 3600_000;

/** A project whose sources (src/, lib/) all date from an hour ago, built `builtAgo` ms ago (no build: null). */
function project(t: { teardown: (fn: () => void) => void }, builtAgo: number | null) {
  const root = mkdtempSync(join(tmpdir(), 'gov-id-compiled-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'tsconfig.build.json'), JSON.stringify({ include: ['src', 'lib'] }));
  const old = new Date(Date.now() - HOUR);
  const files = ['src/main.ts', 'src/nested/deep.ts', 'lib/util.ts'];
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), 'export {};\n');
    utimesSync(join(root, f), old, old);
  }
  for (const d of ['src/nested', 'src', 'lib']) utimesSync(join(root, d), old, old);
  if (builtAgo !== null) {
    mkdirSync(join(root, 'dist'));
    const at = new Date(Date.now() - builtAgo);
    writeFileSync(join(root, 'dist', '.built'), '');
    utimesSync(join(root, 'dist', '.built'), at, at);
  }
  const touch = (path: string, ago: number) => {
    const at = new Date(Date.now() - ago);
    utimesSync(join(root, path), at, at);
  };
  return { root, touch, main: pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href };
}

test('a build newer than every source is used', (t) => {
  const p = project(t, HOUR / 2);
  t.is(compiledMain(p.root), p.main);
});

test('no build, or a build older than a source file, runs the sources', (t) => {
  t.is(compiledMain(project(t, null).root), null, 'never built');
  const p = project(t, HOUR / 2);
  p.touch('src/nested/deep.ts', HOUR / 4);
  t.is(compiledMain(p.root), null, 'a file edited after the build, however deep');
  const q = project(t, 2 * HOUR);
  t.is(compiledMain(q.root), null, 'sources newer than the build');
});

test('a source file added or removed after the build runs the sources (its folder changed)', (t) => {
  const added = project(t, HOUR / 2);
  writeFileSync(join(added.root, 'lib', 'new.ts'), 'export {};\n');
  added.touch('lib/new.ts', HOUR);
  t.is(compiledMain(added.root), null, 'added, with an old date (copied in)');
  const removed = project(t, HOUR / 2);
  rmSync(join(removed.root, 'src', 'nested', 'deep.ts'));
  t.is(compiledMain(removed.root), null, 'removed');
});
