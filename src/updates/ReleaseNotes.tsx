import type { ComponentProps, MouseEvent, ReactNode } from 'react';
import Markdown, { type Components } from 'react-markdown';
import rehypeSanitize from 'rehype-sanitize';
import { useUpdatesClient } from './context';

/** Schemes that open outside the app; every other link is shown as plain text. */
const EXTERNAL_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** Returns the absolute http(s) or mailto URL of a link, or null for relative, script, file and other links. */
export function externalLinkUrl(href: string | undefined): string | null {
  if (!href) return null;
  try {
    const url = new URL(href);
    return EXTERNAL_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Renders a release-note link. Clicks never navigate the app window: a web
 * or mail link opens outside the app on left, middle and modified clicks,
 * and any other link is inert text. The main process blocks navigation too,
 * but a click on a link in a single-page app does not reliably reach it.
 */
function NoteLink({ href, children }: ComponentProps<'a'> & { node?: unknown }): ReactNode {
  const client = useUpdatesClient();
  const url = externalLinkUrl(href);
  if (!url) {
    return (
      <span className="inert-link" title="This link does not open from release notes.">
        {children}
      </span>
    );
  }

  const open = (event: MouseEvent<HTMLAnchorElement>): void => {
    event.preventDefault();
    client.openExternal(url);
  };
  return (
    <a
      href={url}
      target="_blank"
      rel="noopener noreferrer"
      onClick={open}
      onAuxClick={(event) => {
        if (event.button === 1) open(event);
      }}
    >
      {children}
    </a>
  );
}

interface HastNode {
  type: string;
  tagName?: string;
  children?: HastNode[];
}

const HEADING = /^h([1-6])$/;

function collectHeadings(node: HastNode, found: HastNode[]): HastNode[] {
  if (node.type === 'element' && node.tagName && HEADING.test(node.tagName)) found.push(node);
  for (const child of node.children ?? []) collectHeadings(child, found);
  return found;
}

/**
 * Moves the notes' headings below the dialog's h3 "Release notes". The
 * highest level the notes use becomes h4, and the rest keep their distance
 * from it up to h6. Notes that start at h1 map h1 to h4, h2 to h5 and h3 to
 * h6. Notes that start at h2 skip no level, as screen readers and axe's
 * heading-order rule expect.
 */
function rehypeNestHeadings() {
  return (tree: HastNode): void => {
    const headings = collectHeadings(tree, []);
    const levels = headings.map((heading) => Number(HEADING.exec(heading.tagName ?? '')?.[1]));
    const shift = 4 - Math.min(...levels);
    headings.forEach((heading, index) => {
      heading.tagName = `h${Math.min(6, (levels[index] ?? 6) + shift)}`;
    });
  };
}

const components: Components = { a: NoteLink };

/** Renders release notes from the feed as sanitized Markdown. */
export function ReleaseNotes({ markdown }: { markdown: string }): ReactNode {
  if (!markdown.trim()) return <p className="muted">This release has no notes.</p>;
  return (
    <div className="release-notes">
      <Markdown rehypePlugins={[rehypeSanitize, rehypeNestHeadings]} components={components}>
        {markdown}
      </Markdown>
    </div>
  );
}
