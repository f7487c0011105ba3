#!/usr/bin/env node
// Runs the TypeScript benchmark through tsx, so `npm run bench` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../scripts/bench/index.ts');
