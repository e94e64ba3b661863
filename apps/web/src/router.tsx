/**
 * A router small enough to read in one sitting: the page is chosen from `location.pathname`,
 * links use `history.pushState`, and back/forward arrive as `popstate`. Three routes need nothing more.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

/** Goes to a same-origin path without reloading the page. */
export function navigate(path: string): void {
  history.pushState(null, '', path);
  for (const listener of listeners) listener();
}

/** The current `location.pathname`, re-rendering on {@link navigate} and on back/forward. */
export function usePathname(): string {
  const [pathname, setPathname] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPathname(location.pathname);
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return pathname;
}

/** Props of {@link Link}: an `<a>` whose `href` is a same-origin path. */
export interface LinkProps extends Omit<JSX.HTMLAttributes<HTMLAnchorElement>, 'href'> {
  href: string;
  children: ComponentChildren;
}

/**
 * A real link (it works with middle-click, "open in new tab" and without JS), that navigates
 * in-app on a plain left click.
 */
export function Link({ href, children, ...rest }: LinkProps) {
  const onClick = (event: MouseEvent) => {
    // Leave modified clicks (new tab/window, download) to the browser.
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    if (href !== location.pathname) navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
