import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Item, ItemStats } from '../api.ts';
import { ApiError, addItem, deleteItem, getStats, listItems } from '../api.ts';
import { ApiErrorNotice, StatusRegion, StepUpNotice } from '../components/notices.tsx';
import { classifyError } from '../errors.ts';
import {
  connectLiveItems,
  type LiveItems,
  type LiveStatus,
  liveItemsUrl,
  type OpenSocket,
} from '../live-items.ts';
import { useSessionEnded } from '../session-ended.ts';
import {
  clearPendingDelete,
  type PendingDelete,
  readPendingDelete,
  rememberPendingDelete,
  STEP_UP_MESSAGES,
} from '../step-up.ts';
import { PageTitle } from './page-title.tsx';

/** Longest name we send; the API decides for real, this only saves a round trip. */
const ITEM_NAME_MAX_LENGTH = 200;

type ListState =
  | { status: 'loading' }
  | { status: 'loaded'; items: Item[] }
  | { status: 'failed'; error: unknown };

/** What became of the last delete the user asked for. */
type DeleteOutcome =
  | { kind: 'deleted'; name: string }
  /** Already gone (another tab, another device): nothing to do. */
  | { kind: 'gone'; name: string }
  /** The API wants a stronger, recent sign-in first (401 `step_up_required`). */
  | { kind: 'step-up'; item: Item; login: string }
  | { kind: 'failed'; error: unknown };

/** The quiet line above the list; a pause is said in the status region instead. */
const LIVE_LABELS: Record<LiveStatus, string> = {
  connecting: 'Connecting live updates…',
  live: 'Live: items added in your other tabs and devices appear here.',
  reconnecting: 'Reconnecting live updates…',
  paused: '',
};

/** Props of {@link ItemsPage}. */
export interface ItemsPageProps {
  /** Called on a 401 (or the live socket's 4401): the app then shows "Your session ended" instead of this page. */
  onSessionEnded: () => void;
  /** Opens the live socket; default: the browser's `WebSocket`. Tests pass a fake. */
  openSocket?: OpenSocket;
}

/**
 * `/items`: the user's items from the sample API, a Delete button for each, and a form to add
 * one. The list comes first from `GET /api/items`, then from the live socket (`/api/live`, see
 * `live-items.ts`) for as long as the page is shown; when the socket gives up, the page falls
 * back to HTTP and offers a retry.
 *
 * Deleting needs a step-up (a recent sign-in with a second factor). When the BFF answers
 * `step_up_required`, the page says so and offers "Continue" (the step-up sign-in, which comes
 * back here) or "Cancel". The item is remembered for this tab (`step-up.ts`); back here, the page
 * offers to delete it now, and deletes only on that click.
 */
export function ItemsPage({ onSessionEnded, openSocket }: ItemsPageProps) {
  const [list, setList] = useState<ListState>({ status: 'loading' });
  const [live, setLive] = useState<LiveStatus>('connecting');
  const [stats, setStats] = useState<ItemStats | 'unavailable' | null>(null);
  const liveItems = useRef<LiveItems | null>(null);
  /** Counts lists received from the socket: an HTTP answer requested before one of them is stale. */
  const liveVersion = useRef(0);
  const [name, setName] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [formError, setFormError] = useState<unknown>(null);
  const [nameMissing, setNameMissing] = useState(false);
  const [added, setAdded] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  /** The item whose DELETE is in flight. */
  const [deleting, setDeleting] = useState<string | null>(null);
  const [deleteOutcome, setDeleteOutcome] = useState<DeleteOutcome | null>(null);
  /** A delete that waited for a step-up sign-in, read once when the page opens. */
  const [pending, setPending] = useState<PendingDelete | null>(() => readPendingDelete() ?? null);

  /** True when `error` ended the page: the session ended (the app takes over). */
  const fail = useSessionEnded(onSessionEnded);

  /** `GET /api/items`; `quiet`: keep showing the current list meanwhile, and if it fails. */
  const load = useCallback(
    (signal?: AbortSignal, quiet = false) => {
      const version = liveVersion.current;
      if (!quiet) setList({ status: 'loading' });
      listItems(signal).then(
        (items) => {
          if (liveVersion.current === version) setList({ status: 'loaded', items });
        },
        (error: unknown) => {
          if (signal?.aborted || fail(error) || liveVersion.current !== version) return;
          setList((state) => (quiet && state.status === 'loaded' ? state : { status: 'failed', error }));
        },
      );
    },
    [fail],
  );

  useEffect(() => {
    // Abort on leaving the page so a late answer cannot update an unmounted component.
    const controller = new AbortController();
    load(controller.signal);
    const connection = connectLiveItems({
      url: liveItemsUrl(location),
      ...(openSocket ? { openSocket } : {}),
      onItems: (items) => {
        liveVersion.current += 1;
        setList({ status: 'loaded', items });
      },
      onSessionEnded,
      // The socket gave up: read the list over HTTP once, so it is not left stale.
      onPaused: () => load(controller.signal, true),
      onStatus: setLive,
    });
    liveItems.current = connection;
    return () => {
      controller.abort();
      connection.close();
      liveItems.current = null;
    };
  }, [load, onSessionEnded, openSocket]);

  const loadStats = useCallback((signal?: AbortSignal) => {
    getStats(signal).then(setStats, () => {
      if (!signal?.aborted) setStats('unavailable');
    });
  }, []);

  // The site-wide counts are secondary: asked for once the list itself is there.
  const listLoaded = list.status === 'loaded';
  useEffect(() => {
    if (!listLoaded) return;
    const controller = new AbortController();
    loadStats(controller.signal);
    return () => controller.abort();
  }, [listLoaded, loadStats]);

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
      // The live socket may have delivered the new list (with this item) already.
      setList((state) =>
        state.status === 'loaded' && !state.items.some((i) => i.id === item.id)
          ? { ...state, items: [...state.items, item] }
          : state,
      );
      setName('');
      setAdded(item.name);
      loadStats();
    } catch (error) {
      if (!fail(error)) setFormError(error);
    } finally {
      setSubmitting(false);
      // Disabling the fieldset dropped focus to <body>; give it back where the user was typing.
      input.current?.focus();
    }
  };

  const onDelete = async (item: Item) => {
    setDeleteOutcome(null);
    setAdded(null);
    setDeleting(item.id);
    const removeFromList = () =>
      setList((state) =>
        state.status === 'loaded' ? { ...state, items: state.items.filter((i) => i.id !== item.id) } : state,
      );
    try {
      await deleteItem(item.id);
      removeFromList();
      setDeleteOutcome({ kind: 'deleted', name: item.name });
      loadStats();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'not_found') {
        removeFromList();
        setDeleteOutcome({ kind: 'gone', name: item.name });
      } else if (
        classifyError(error) === 'step-up-required' &&
        error instanceof ApiError &&
        error.stepUpLogin
      ) {
        setDeleteOutcome({ kind: 'step-up', item, login: error.stepUpLogin });
      } else if (!fail(error)) {
        setDeleteOutcome({ kind: 'failed', error });
      }
    } finally {
      setDeleting(null);
    }
  };

  const dismissPending = () => {
    clearPendingDelete();
    setPending(null);
  };

  // The remembered item is offered only while it is still in the list.
  const pendingItem =
    pending && list.status === 'loaded' ? list.items.find((item) => item.id === pending.id) : undefined;
  useEffect(() => {
    if (pending && list.status === 'loaded' && !pendingItem) {
      clearPendingDelete();
      setPending(null);
    }
  }, [pending, list.status, pendingItem]);

  return (
    <>
      <PageTitle title="Items" />
      <StatusRegion>
        {list.status === 'loading' && <p class="muted">Loading your items…</p>}
        {list.status === 'failed' && (
          <ApiErrorNotice error={list.error} returnTo="/items" onRetry={() => load()} />
        )}
        {live === 'paused' && (
          <p class="live-paused" data-testid="live-paused">
            Live updates paused.{' '}
            <button type="button" class="button live-retry" onClick={() => liveItems.current?.retry()}>
              Retry
            </button>
          </p>
        )}
      </StatusRegion>
      {live !== 'paused' && (
        <p class="live-status muted" data-testid="live-status" data-state={live}>
          {LIVE_LABELS[live]}
        </p>
      )}
      {list.status === 'loaded' && (
        <>
          <ul class="items" data-testid="items-list">
            {list.items.map((item) => (
              <li key={item.id} class="item">
                <span>
                  <span class="item-name">{item.name}</span>{' '}
                  <time class="muted" dateTime={item.createdAt}>
                    {formatDate(item.createdAt)}
                  </time>
                </span>
                <button
                  type="button"
                  class="button small"
                  data-testid="delete-item"
                  disabled={deleting === item.id}
                  onClick={() => onDelete(item)}
                >
                  {deleting === item.id ? 'Deleting…' : 'Delete'}
                  <span class="visually-hidden"> “{item.name}”</span>
                </button>
              </li>
            ))}
          </ul>
          {list.items.length === 0 && <p class="muted">No items yet. Add your first one below.</p>}
        </>
      )}
      <StatusRegion>
        {pendingItem && deleteOutcome === null && (
          <div class="notice" data-testid="pending-delete">
            <p>You signed in again. Delete “{pendingItem.name}” now?</p>
            <div class="notice-actions">
              <button
                type="button"
                class="button primary"
                data-testid="pending-delete-confirm"
                onClick={() => {
                  dismissPending();
                  void onDelete(pendingItem);
                }}
              >
                Delete “{pendingItem.name}”
              </button>
              <button
                type="button"
                class="button"
                data-testid="pending-delete-dismiss"
                onClick={dismissPending}
              >
                Keep it
              </button>
            </div>
          </div>
        )}
        {deleteOutcome?.kind === 'step-up' && (
          <StepUpNotice
            message={STEP_UP_MESSAGES.deleteItem}
            login={deleteOutcome.login}
            autoFocus
            onContinue={() => rememberPendingDelete(deleteOutcome.item)}
            onCancel={() => {
              clearPendingDelete();
              setDeleteOutcome(null);
            }}
          />
        )}
        {deleteOutcome?.kind === 'deleted' && <p class="success">Deleted “{deleteOutcome.name}”.</p>}
        {deleteOutcome?.kind === 'gone' && (
          <p class="muted" data-testid="delete-gone">
            “{deleteOutcome.name}” was already deleted.
          </p>
        )}
        {deleteOutcome?.kind === 'failed' && <ApiErrorNotice error={deleteOutcome.error} returnTo="/items" />}
      </StatusRegion>
      {stats === 'unavailable' && (
        <p class="muted" data-testid="site-stats-unavailable">
          Site-wide statistics are unavailable.
        </p>
      )}
      {stats !== null && stats !== 'unavailable' && (
        <p class="muted" data-testid="site-stats">
          Across the site: {plural(stats.totalItems, 'item')} kept by {plural(stats.usersWithItems, 'user')}.
        </p>
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

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString();
}
