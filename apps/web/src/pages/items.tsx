import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Item } from '../api.ts';
import { addItem, listItems } from '../api.ts';
import { ApiErrorNotice, StatusRegion } from '../components/notices.tsx';
import { classifyError } from '../errors.ts';
import { PageTitle } from './page-title.tsx';

/** Longest name we send; the API decides for real, this only saves a round trip. */
const ITEM_NAME_MAX_LENGTH = 200;

type ListState =
  | { status: 'loading' }
  | { status: 'loaded'; items: Item[] }
  | { status: 'failed'; error: unknown };

/** Props of {@link ItemsPage}. */
export interface ItemsPageProps {
  /** Called on a 401: the app then shows "Your session ended" instead of this page. */
  onSessionEnded: () => void;
}

/** `/items`: the user's items from the sample API, and a form to add one. */
export function ItemsPage({ onSessionEnded }: ItemsPageProps) {
  const [list, setList] = useState<ListState>({ status: 'loading' });
  const [name, setName] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [formError, setFormError] = useState<unknown>(null);
  const [nameMissing, setNameMissing] = useState(false);
  const [added, setAdded] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const fail = useCallback(
    (error: unknown): boolean => {
      if (classifyError(error) !== 'session-ended') return false;
      onSessionEnded();
      return true;
    },
    [onSessionEnded],
  );

  const load = useCallback(
    (signal?: AbortSignal) => {
      setList({ status: 'loading' });
      listItems(signal).then(
        (items) => setList({ status: 'loaded', items }),
        (error: unknown) => {
          if (signal?.aborted || fail(error)) return;
          setList({ status: 'failed', error });
        },
      );
    },
    [fail],
  );

  useEffect(() => {
    // Abort on leaving the page so a late answer cannot update an unmounted component.
    const controller = new AbortController();
    load(controller.signal);
    return () => controller.abort();
  }, [load]);

  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    setAdded(null);
    setFormError(null);
    setNameMissing(trimmed === '');
    if (trimmed === '') {
      input.current?.focus();
      return;
    }
    setSubmitting(true);
    try {
      const item = await addItem(trimmed);
      setList((state) => (state.status === 'loaded' ? { ...state, items: [...state.items, item] } : state));
      setName('');
      setAdded(item.name);
    } catch (error) {
      if (!fail(error)) setFormError(error);
    } finally {
      setSubmitting(false);
      // Disabling the fieldset dropped focus to <body>; give it back where the user was typing.
      input.current?.focus();
    }
  };

  return (
    <>
      <PageTitle title="Items" />
      <StatusRegion>
        {list.status === 'loading' && <p class="muted">Loading your items…</p>}
        {list.status === 'failed' && (
          <ApiErrorNotice error={list.error} returnTo="/items" onRetry={() => load()} />
        )}
      </StatusRegion>
      {list.status === 'loaded' && (
        <>
          <ul class="items" data-testid="items-list">
            {list.items.map((item) => (
              <li key={item.id}>
                <span class="item-name">{item.name}</span>{' '}
                <time class="muted" dateTime={item.createdAt}>
                  {formatDate(item.createdAt)}
                </time>
              </li>
            ))}
          </ul>
          {list.items.length === 0 && <p class="muted">No items yet. Add your first one below.</p>}
        </>
      )}
      <form class="add-item" onSubmit={onSubmit} noValidate>
        <fieldset disabled={submitting}>
          <legend>Add an item</legend>
          <label for="item-name">Name</label>
          <div class="row">
            <input
              id="item-name"
              name="name"
              ref={input}
              value={name}
              maxLength={ITEM_NAME_MAX_LENGTH}
              autoComplete="off"
              required
              aria-invalid={nameMissing}
              aria-describedby={nameMissing ? 'item-name-error' : undefined}
              data-testid="item-name-input"
              onInput={(event) => setName(event.currentTarget.value)}
            />
            <button type="submit" class="button primary" data-testid="add-item">
              {submitting ? 'Adding…' : 'Add item'}
            </button>
          </div>
        </fieldset>
        <StatusRegion>
          {nameMissing && (
            <p class="field-error" id="item-name-error">
              Enter a name for the item.
            </p>
          )}
          {formError !== null && <ApiErrorNotice error={formError} returnTo="/items" />}
          {added !== null && <p class="success">Added “{added}”.</p>}
        </StatusRegion>
      </form>
    </>
  );
}

function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString();
}
