import { lazy, Suspense, type ReactNode } from 'react';

let notesModule: Promise<typeof import('./ReleaseNotes')> | null = null;

/**
 * Starts loading the release-notes chunk. The Markdown renderer and its
 * parser are 123 kB of the 550 kB renderer (minified, from `vite build` with
 * vite 8.4), and only the update dialog needs them, so they load on demand.
 */
export function preloadReleaseNotes(): Promise<typeof import('./ReleaseNotes')> {
  notesModule ??= import('./ReleaseNotes');
  return notesModule;
}

/** Shows the notes as plain text, escaped by React, when the Markdown chunk failed to load. */
function PlainReleaseNotes({ markdown }: { markdown: string }): ReactNode {
  if (!markdown.trim()) return <p className="muted">This release has no notes.</p>;
  return <pre className="release-notes release-notes-plain">{markdown}</pre>;
}

const ReleaseNotes = lazy(() =>
  preloadReleaseNotes().then(
    (module) => ({ default: module.ReleaseNotes }),
    (error: unknown) => {
      console.warn('Loading the release-notes renderer failed, so the notes show as plain text', error);
      return { default: PlainReleaseNotes };
    },
  ),
);

/** Renders release notes from their own chunk, with a short text while that chunk loads. */
export function LazyReleaseNotes({ markdown }: { markdown: string }): ReactNode {
  return (
    <Suspense fallback={<p className="muted">Loading release notes…</p>}>
      <ReleaseNotes markdown={markdown} />
    </Suspense>
  );
}
