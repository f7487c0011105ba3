import { parseArgs } from 'node:util';
import { MIB } from './context';

/** Figures that `--only` can select. */
export const FIGURES = ['download', 'extract', 'swap', 'progress', 'check'] as const;
export type FigureName = (typeof FIGURES)[number];

export interface BenchOptions {
  quick: boolean;
  runs: number;
  downloadBytes: number;
  figures: FigureName[];
  /** Folder for V8 CPU profiles of the measured child processes, or null. */
  profileDir: string | null;
  /** File that receives the results, or null to print only. */
  write: string | null;
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

Measures the updater against curl, openssl, sha256sum, unzip and tar on this
machine and prints a Markdown table of medians, ranges and paired ratios.

Options:
  --quick            256 MiB download instead of 1 GiB, smaller memory variants
  --runs N           measured runs per figure, at least 5 (default 5)
  --size MIB         size of the large download in MiB (default 1024, quick 256)
  --only LIST        comma-separated figures: ${FIGURES.join(', ')}
  --write FILE       add the results to FILE, keeping earlier runs
                     (default BENCHMARKS.md for a full run, none for --quick)
  --no-write         print only
  --cpu-prof DIR     write a V8 CPU profile of each measured Node child to DIR
  --help             show this text
`;

/** Parses the command line of `npm run bench`. Throws an Error with a readable message on bad input. */
export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      size: { type: 'string' },
      only: { type: 'string' },
      write: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const runs = values.runs === undefined ? 5 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 5) throw new Error(`--runs must be a whole number of at least 5, got "${values.runs}"`);
  const defaultSizeMib = quick ? 256 : 1024;
  const sizeMib = values.size === undefined ? defaultSizeMib : Number(values.size);
  if (!Number.isInteger(sizeMib) || sizeMib < 1) throw new Error(`--size must be a whole number of MiB, got "${values.size}"`);

  const figures = values.only === undefined ? [...FIGURES] : values.only.split(',').map((name) => name.trim());
  const unknown = figures.filter((name) => !(FIGURES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown figure "${unknown.join(', ')}" in --only; use ${FIGURES.join(', ')}`);

  let write: string | null = values.write ?? (quick ? null : 'BENCHMARKS.md');
  if (values['no-write']) write = null;
  return {
    quick,
    runs,
    downloadBytes: sizeMib * MIB,
    figures: figures as FigureName[],
    profileDir: values['cpu-prof'] ?? null,
    write,
    help: values.help ?? false,
  };
}
