import { Link } from '../router.tsx';
import { PageTitle } from './page-title.tsx';

/** Any path the SPA does not know. */
export function NotFoundPage() {
  return (
    <>
      <PageTitle title="Page not found" />
      <p>
        There is nothing here. <Link href="/">Go to the home page</Link>.
      </p>
    </>
  );
}
