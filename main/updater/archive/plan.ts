import path from 'node:path';
import { UpdateError } from '../errors';
import { resolveEntryPath, resolveLinkTarget, unsafeLink } from './paths';
import type { ArchiveEntryInfo, EntryKind } from './types';

/** Destination and kind of one archive entry to write. */
export interface PlannedEntry {
  /** Name exactly as stored in the archive. */
  name: string;
  kind: Exclude<EntryKind, 'directory'>;
  /** Absolute destination path inside the extraction root. */
  path: string;
  executable: boolean;
  /** Target text of a symbolic link to create, or the absolute path of the file that a hard link copies. */
  linkTarget?: string;
}

/** Result of checking every entry name before anything is written. */
export interface ExtractionPlan {
  /** One slot per listed entry in archive order, with null for folders and skipped entries. */
  entries: Array<PlannedEntry | null>;
  /** Absolute folders to create, parents before children. */
  directories: string[];
  /** Name of the single top folder that was removed from every entry, if any. */
  strippedTopFolder: string | null;
}

/** Folder where macOS Finder puts resource forks in a zip. Its entries are never installed. */
const MAC_METADATA_FOLDER = '__MACOSX';

/**
 * Checks every entry against `root` and decides where it goes. Names that leave
 * the root, links that point outside it or through another link, duplicates and
 * file-versus-folder clashes are rejected here, before the first byte is
 * written. When every entry sits under one top folder, that folder is removed
 * (`python-backend-2.1.0/main.py` becomes `main.py`).
 */
export function planExtraction(root: string, infos: ArchiveEntryInfo[]): ExtractionPlan {
  const segmentsByEntry = infos.map((info) => entrySegments(root, info.name));
  const topFolder = chooseTopFolder(infos, segmentsByEntry);
  const builder = new PlanBuilder(root, topFolder);

  const entries = infos.map((info, index) => {
    const segments = segmentsByEntry[index];
    if (segments === undefined || segments[0] === MAC_METADATA_FOLDER) return null;
    return builder.add(info, topFolder === null ? segments : segments.slice(1));
  });
  return { entries, directories: builder.directories, strippedTopFolder: topFolder };
}

/** Returns the path segments of an entry below `root`, after the containment check. */
function entrySegments(root: string, name: string): string[] {
  const relative = path.relative(root, resolveEntryPath(root, name));
  return relative === '' ? [] : relative.split(path.sep);
}

/** Returns the folder that every entry shares as its first segment, or null. */
function chooseTopFolder(infos: ArchiveEntryInfo[], segmentsByEntry: string[][]): string | null {
  const tops = new Set<string>();
  let hasNestedEntry = false;
  for (const [index, segments] of segmentsByEntry.entries()) {
    const first = segments[0];
    if (first === undefined || first === MAC_METADATA_FOLDER) continue;
    // A file or link at the top level means there is no shared top folder.
    if (segments.length === 1 && infos[index]?.kind !== 'directory') return null;
    if (segments.length > 1) hasNestedEntry = true;
    tops.add(first);
  }

  const [only] = tops;
  return tops.size === 1 && hasNestedEntry && only !== undefined ? only : null;
}

type NodeKind = 'directory' | Exclude<EntryKind, 'directory'>;

class PlanBuilder {
  readonly directories: string[] = [];
  private readonly nodes = new Map<string, NodeKind>();

  constructor(
    private readonly root: string,
    private readonly topFolder: string | null,
  ) {}

  add(info: ArchiveEntryInfo, segments: string[]): PlannedEntry | null {
    if (segments.length === 0) {
      if (info.kind === 'directory') return null;
      throw invalidEntry(info.name, 'names the extraction folder itself', 'UNSAFE_ARCHIVE_ENTRY');
    }

    const key = segments.join('/');
    const target = resolveEntryPath(this.root, key);
    this.addParents(info.name, segments);
    const existing = this.nodes.get(key);
    if (existing === 'directory' && info.kind === 'directory') return null;
    if (existing !== undefined) throw invalidEntry(info.name, `clashes with another entry at "${key}"`, 'ARCHIVE_INVALID');

    if (info.kind === 'directory') {
      this.nodes.set(key, info.kind);
      this.directories.push(target);
      return null;
    }
    // The link's own node is recorded after its target is checked, so a hard link cannot name itself.
    const linkTarget = this.linkTargetOf(info, target);
    this.nodes.set(key, info.kind);
    return { name: info.name, kind: info.kind, path: target, executable: info.executable, linkTarget };
  }

  /** Records the parent folders of an entry, none of which may be a file or a link. */
  private addParents(name: string, segments: string[]): void {
    for (let depth = 1; depth < segments.length; depth += 1) {
      const key = segments.slice(0, depth).join('/');
      const existing = this.nodes.get(key);
      if (existing === 'directory') continue;
      if (existing === 'symlink') throw invalidEntry(name, `would be written through the link "${key}"`, 'UNSAFE_ARCHIVE_ENTRY');
      if (existing !== undefined) throw invalidEntry(name, `needs "${key}" as a folder, but it is also a file`, 'ARCHIVE_INVALID');
      this.nodes.set(key, 'directory');
      this.directories.push(path.join(this.root, ...segments.slice(0, depth)));
    }
  }

  private linkTargetOf(info: ArchiveEntryInfo, target: string): string | undefined {
    if (info.kind !== 'symlink' && info.kind !== 'hardlink') return undefined;
    if (!info.linkTarget) throw invalidEntry(info.name, 'is a link without a target', 'ARCHIVE_INVALID');
    if (info.kind === 'symlink') {
      resolveLinkTarget(this.root, target, info.linkTarget, info.name);
      return info.linkTarget.replaceAll('\\', '/');
    }
    return this.hardlinkSource(info.name, info.linkTarget);
  }

  /**
   * Returns the extracted file that a hard link names. Tar stores the target
   * relative to the archive root, and it must be a file written earlier from
   * this archive. The link is then written as a copy of it.
   */
  private hardlinkSource(name: string, linkTarget: string): string {
    let segments: string[];
    try {
      segments = entrySegments(this.root, linkTarget);
    } catch (error) {
      const reason = error instanceof UpdateError ? String(error.details?.reason) : 'is invalid';
      throw unsafeLink(name, linkTarget, reason);
    }

    if (this.topFolder !== null) {
      if (segments[0] !== this.topFolder) throw unsafeLink(name, linkTarget, 'is outside the archive');
      segments = segments.slice(1);
    }
    const key = segments.join('/');
    const kind = this.nodes.get(key);
    if (kind !== 'file' && kind !== 'hardlink') throw unsafeLink(name, linkTarget, 'is not a file extracted earlier from this archive');
    return path.join(this.root, ...segments);
  }
}

function invalidEntry(name: string, reason: string, code: 'ARCHIVE_INVALID' | 'UNSAFE_ARCHIVE_ENTRY'): UpdateError {
  const advice = code === 'UNSAFE_ARCHIVE_ENTRY' ? 'Do not install this release, and report it to its publisher.' : 'The archive is damaged or was built wrongly, so report it to its publisher.';
  return new UpdateError(code, `Archive entry "${name}" ${reason}, so the archive was rejected and nothing was installed. ${advice}`, {
    details: { entry: name, reason },
  });
}
