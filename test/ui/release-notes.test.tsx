// @vitest-environment jsdom
import { fireEvent, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { externalLinkUrl, ReleaseNotes } from '../../src/updates/ReleaseNotes';
import { renderApp } from './render';

const NOTES =
  '[PR](https://github.com/o/r/pull/1) [rel](/docs) [mail](mailto:a@b.c) [js](javascript:alert(1)) [f](file:///etc/passwd)';

function renderNotes(markdown = NOTES) {
  const openWindow = vi.fn<Window['open']>(() => null);
  const result = renderApp({ openWindow, children: <ReleaseNotes markdown={markdown} /> });
  return { ...result, openWindow };
}

describe('ReleaseNotes', () => {
  it('opens web links outside the app', async () => {
    const user = userEvent.setup();
    const { openWindow } = renderNotes();
    const startUrl = window.location.href;
    const link = screen.getByRole('link', { name: 'PR' });

    await user.click(link);
    await user.keyboard('{Control>}');
    await user.click(link);
    await user.keyboard('{/Control}');
    fireEvent(link, new MouseEvent('auxclick', { bubbles: true, cancelable: true, button: 1 }));

    expect(openWindow.mock.calls).toEqual([
      ['https://github.com/o/r/pull/1', '_blank', 'noopener,noreferrer'],
      ['https://github.com/o/r/pull/1', '_blank', 'noopener,noreferrer'],
      ['https://github.com/o/r/pull/1', '_blank', 'noopener,noreferrer'],
    ]);
    expect(window.location.href).toBe(startUrl);
    expect(link).toHaveAttribute('rel', 'noopener noreferrer');
  });

  it('prevents the default link action', () => {
    renderNotes();
    const click = new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 });

    screen.getByRole('link', { name: 'PR' }).dispatchEvent(click);

    expect(click.defaultPrevented).toBe(true);
  });

  it('opens mail links outside the app', async () => {
    const user = userEvent.setup();
    const { openWindow } = renderNotes();

    await user.click(screen.getByRole('link', { name: 'mail' }));

    expect(openWindow).toHaveBeenCalledWith('mailto:a@b.c', '_blank', 'noopener,noreferrer');
  });

  it.each(['rel', 'js', 'f'])('renders the %s link inert', async (name) => {
    const user = userEvent.setup();
    const { openWindow } = renderNotes();

    expect(screen.queryByRole('link', { name })).not.toBeInTheDocument();
    const text = screen.getByText(name);
    expect(text.closest('a')).toBeNull();
    await user.click(text);

    expect(openWindow).not.toHaveBeenCalled();
  });

  it('drops raw HTML and scripts', () => {
    renderNotes('Text <img src=x onerror="alert(1)"> <script>alert(1)</script> <a href="javascript:alert(2)">raw</a>');

    expect(document.querySelector('img')).toBeNull();
    expect(document.querySelector('script')).toBeNull();
    expect(document.querySelector('[onerror]')).toBeNull();
    expect(screen.queryByRole('link')).not.toBeInTheDocument();
  });

  it('renders headings and lists', () => {
    renderNotes('## Fixes\n\n- Faster start-up\n- Smaller download');

    expect(screen.getByRole('heading', { name: 'Fixes' })).toBeInTheDocument();
    expect(within(screen.getByRole('list')).getAllByRole('listitem')).toHaveLength(2);
  });
});

describe('ReleaseNotes headings', () => {
  it('nests headings below level 3', () => {
    renderNotes('# Title\n\n## Fixes\n\n### Minor\n\n#### Tiny\n\n###### Smallest');

    const levels = [
      ['Title', 4],
      ['Fixes', 5],
      ['Minor', 6],
      ['Tiny', 6],
      ['Smallest', 6],
    ] as const;
    for (const [name, level] of levels) {
      expect(screen.getByRole('heading', { name })).toBe(screen.getByRole('heading', { name, level }));
    }
    for (const level of [1, 2, 3]) {
      expect(screen.queryByRole('heading', { level })).not.toBeInTheDocument();
    }
  });

  it('starts notes without h1 at h4', () => {
    renderNotes("## What's new\n\n### Fixes");

    expect(screen.getByRole('heading', { name: "What's new" })).toBe(screen.getByRole('heading', { name: "What's new", level: 4 }));
    expect(screen.getByRole('heading', { name: 'Fixes' })).toBe(screen.getByRole('heading', { name: 'Fixes', level: 5 }));
  });
});

describe('externalLinkUrl', () => {
  it.each([
    ['https://github.com/o/r/pull/1', 'https://github.com/o/r/pull/1'],
    ['http://example.com/a', 'http://example.com/a'],
    ['mailto:a@b.c', 'mailto:a@b.c'],
    ['/docs', null],
    ['#section', null],
    ['javascript:alert(1)', null],
    ['JAVASCRIPT:alert(1)', null],
    ['file:///etc/passwd', null],
    ['data:text/html,hi', null],
    ['', null],
    [undefined, null],
  ])('maps %s', (href, expected) => {
    expect(externalLinkUrl(href)).toBe(expected);
  });
});
