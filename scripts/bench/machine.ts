import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Facts about the machine that a bench result depends on. */
export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGib: number;
  /** Whether /proc/cpuinfo lists the SHA extensions (sha_ni), which openssl uses. */
  shaExtensions: boolean;
  loadAverage: string;
  node: string;
  platform: string;
  date: string;
}

function readCpuInfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** Collects CPU model, core count, memory, load and versions. */
export function machineFacts(): MachineFacts {
  const cpuInfo = readCpuInfo();
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuInfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    cpuModel: model.trim(),
    cores: os.availableParallelism(),
    memoryGib: Math.round(os.totalmem() / 1024 ** 3),
    shaExtensions: /\bsha_ni\b/.test(cpuInfo),
    loadAverage: os.loadavg().map((value) => value.toFixed(2)).join(' '),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

/** Renders the facts as Markdown list items. */
export function renderMachine(facts: MachineFacts): string {
  return [
    `- Date: ${facts.date}`,
    `- CPU: ${facts.cpuModel}, ${facts.cores} cores (nproc), SHA extensions ${facts.shaExtensions ? 'present' : 'absent'}`,
    `- Memory: ${facts.memoryGib} GiB`,
    `- OS: ${facts.platform}`,
    `- Node: ${facts.node}`,
    `- Load average at the start (1, 5, 15 min): ${facts.loadAverage}`,
  ].join('\n');
}
