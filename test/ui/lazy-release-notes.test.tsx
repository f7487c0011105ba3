// @vitest-environment jsdom
import { screen } from '@testing-library/react';
import { LazyReleaseNotes } from '../../src/updates/LazyReleaseNotes';
import { renderApp } from './render';

// Stands in for a renderer chunk that fails to load, such as a file missing from the app package.
vi.mock('../../src/updates/ReleaseNotes', () => {
  throw new Error('Failed to fetch dynamically imported module: ReleaseNotes.js');
});

describe('LazyReleaseNotes', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('falls back to plain text', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    renderApp({ children: <LazyReleaseNotes markdown={'## Fixes\n\n<img src=x onerror=alert(1)> **bold**'} /> });

    const notes = await screen.findByText(/## Fixes/);

    expect(notes.tagName).toBe('PRE');
    expect(notes).toHaveTextContent('<img src=x onerror=alert(1)> **bold**');
    expect(document.querySelector('img')).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Fixes' })).not.toBeInTheDocument();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Loading the release-notes renderer failed'), expect.any(Error));
  });
});
