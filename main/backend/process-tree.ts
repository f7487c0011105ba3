import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const IS_WINDOWS = process.platform === 'win32';

/**
 * Sends a signal to the process group led by `pid` (the backend is spawned
 * detached, so it leads its own group and its children are members).
 * Returns false when no process of the group exists any more.
 * NOTE: a descendant that calls setsid() or setpgid() leaves the group and is not reached.
 */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * Returns true while a live process of the group led by `pid` exists. On Linux,
 * members that exited but were not reaped yet (zombies) do not count, because an
 * init process that reaps slowly, common in containers, would otherwise delay
 * every stop. Elsewhere any member counts.
 */
export function isProcessGroupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch (error) {
    // EPERM means a process exists that this user may not signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const members = liveGroupMembersLinux(pid);
  return members === null || members > 0;
}

/** Counts the non-zombie processes of a group from /proc, or returns null without a readable /proc. */
function liveGroupMembersLinux(pgid: number): number | null {
  if (process.platform !== 'linux') return null;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  let live = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // The process ended while the folder was read.
    }
    // Fields after the command name in parentheses: state, ppid, pgrp, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') live += 1;
  }
  return live;
}

/**
 * Ends the process tree rooted at `pid` on Windows with `taskkill /T /F`.
 * NOTE: not run on Windows yet. taskkill /T finds children by parent process id,
 * so a descendant whose parent already exited can be missed; a Job Object would cover it.
 */
export function killProcessTreeWindows(pid: number): Promise<void> {
  return new Promise((resolve) => {
    execFile('taskkill', ['/PID', String(pid), '/T', '/F'], { windowsHide: true }, () => resolve());
  });
}
