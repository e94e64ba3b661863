import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';

/** Name shown in the header and in every document title. */
export const APP_NAME = 'Okta BFF sample';

/**
 * The one `<h1>` of a page; it also sets `document.title`. `tabIndex={-1}` lets the app move
 * focus here after an in-app navigation, so keyboard and screen-reader users land on the new page.
 */
export function PageTitle({ title, children }: { title: string; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · ${APP_NAME}`;
  }, [title]);
  return (
    <h1 tabIndex={-1} id="page-title">
      {children ?? title}
    </h1>
  );
}
