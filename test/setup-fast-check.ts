import fc from 'fast-check';

// Property tests explore new random inputs on every local run. CI uses a fixed
// seed so a run can be reproduced; FC_SEED sets the seed anywhere.
const fixedSeed = process.env.FC_SEED ?? (process.env.CI ? '20261204' : undefined);
if (fixedSeed !== undefined) fc.configureGlobal({ seed: Number(fixedSeed) });
