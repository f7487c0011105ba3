/**
 * Builds the Electron main process and preload script with esbuild:
 *   main/index.ts    -> dist-electron/main/index.js      (ES module)
 *   preload/index.ts -> dist-electron/preload/index.cjs  (CommonJS)
 * The preload must be CommonJS because Electron cannot load an ES module
 * preload in a sandboxed renderer. Run with `npx tsx scripts/build-electron.ts`;
 * add `--watch` to rebuild on change. The renderer builds separately with `npx vite build`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, context, type BuildOptions } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = path.join(root, 'dist-electron');

const shared: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  logLevel: 'info',
  // Electron provides `electron` at run time.
  external: ['electron'],
};

const targets: BuildOptions[] = [
  {
    ...shared,
    entryPoints: ['main/index.ts'],
    outfile: path.join(outRoot, 'main/index.js'),
    format: 'esm',
    // Dependencies load from node_modules at run time, as in `npm start`.
    packages: 'external',
  },
  {
    ...shared,
    entryPoints: ['preload/index.ts'],
    outfile: path.join(outRoot, 'preload/index.cjs'),
    format: 'cjs',
    // A sandboxed preload can require only `electron` and a few built-ins, so everything else is bundled.
    packages: 'bundle',
  },
];

async function main(): Promise<void> {
  if (process.argv.includes('--watch')) {
    for (const options of targets) await (await context(options)).watch();
    console.log('watching main/ and preload/ for changes');
    return;
  }
  await Promise.all(targets.map((options) => build(options)));
}

main().catch((error: unknown) => {
  console.error(`build-electron failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
