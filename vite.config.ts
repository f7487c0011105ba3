import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The renderer lives in src/ and builds to dist/renderer; main and preload are
// built by scripts/build-electron.ts. Vitest runs Node tests by default and
// jsdom tests that declare `@vitest-environment jsdom`.
export default defineConfig({
  root: 'src',
  base: './',
  publicDir: '../public',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
  },
  test: {
    root: '.',
    include: ['test/**/*.test.{ts,tsx}'],
    environment: 'node',
    globals: true,
    setupFiles: ['test/setup-fast-check.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
