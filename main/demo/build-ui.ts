import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Builds the renderer with Vite into dist/renderer and returns that folder. */
export async function buildRendererIfMissing(log: (line: string) => void): Promise<string> {
  const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  log('Building the update UI (first run only)...');
  const { build } = await import('vite');
  await build({ configFile: path.join(projectRoot, 'vite.config.ts'), logLevel: 'warn' });
  return path.join(projectRoot, 'dist', 'renderer');
}
