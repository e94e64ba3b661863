/**
 * `GET /items`, `POST /items` and `DELETE /items/:id`: the tutorial's `/read-items`, per user. The
 * owner is always the verified token's `sub`, never something the request names, so one user
 * cannot reach another's items. Deleting needs a step-up (`step-up.ts`): a recent sign-in with a
 * second factor.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiEnv } from '../bearer-auth.ts';
import { ApiError } from '../errors.ts';
import type { ItemStore } from '../item-store.ts';
import { DEFAULT_STEP_UP_POLICY, requireStepUp, type StepUpPolicy } from '../step-up.ts';

/** Longest item name, in characters (code points), after trimming. */
export const ITEM_NAME_MAX_CHARS = 200;
/** A `{ "name": ... }` body is tiny; refuse anything much larger before parsing it. */
export const ITEM_BODY_MAX_BYTES = 16 * 1024;

/**
 * Validates a parsed `POST /items` body and returns the trimmed name.
 *
 * @throws {ApiError} `bad_request` naming what is wrong.
 */
export function parseNewItem(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('bad_request', 400, 'The body must be a JSON object like {"name": "..."}');
  }
  const { name } = body as Record<string, unknown>;
  if (typeof name !== 'string') throw new ApiError('bad_request', 400, 'name must be a string');
  const trimmed = name.trim();
  const length = [...trimmed].length;
  if (length < 1 || length > ITEM_NAME_MAX_CHARS) {
    throw new ApiError('bad_request', 400, `name must be 1 to ${ITEM_NAME_MAX_CHARS} characters long`);
  }
  return trimmed;
}

/** Options of {@link itemRoutes}. */
export interface ItemRoutesOptions {
  /** What `DELETE /items/:id` demands of the sign-in; default {@link DEFAULT_STEP_UP_POLICY}. */
  deleteStepUp?: StepUpPolicy;
  /** Clock of the step-up's `auth_time` check, in milliseconds (default `Date.now`). */
  now?: () => number;
  /** Clock skew allowed on a future `auth_time`, in seconds. */
  clockToleranceS?: number;
}

/** The `/items` routes; mount after {@link bearerAuth} so that `c.var.claims` is set. */
export function itemRoutes(store: ItemStore, options: ItemRoutesOptions = {}): Hono<ApiEnv> {
  const items = new Hono<ApiEnv>();
  const stepUp = requireStepUp(options.deleteStepUp ?? DEFAULT_STEP_UP_POLICY, {
    now: options.now,
    clockToleranceS: options.clockToleranceS,
  });

  items.get('/', async (c) => {
    return c.json({ items: await store.list(c.var.claims.sub) });
  });

  items.post(
    '/',
    bodyLimit({
      maxSize: ITEM_BODY_MAX_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', 413, `The body must be at most ${ITEM_BODY_MAX_BYTES} bytes`);
      },
    }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch (cause) {
        throw new ApiError('bad_request', 400, 'The body must be JSON', { cause });
      }
      const item = await store.add(c.var.claims.sub, parseNewItem(body));
      return c.json(item, 201);
    },
  );

  // The step-up comes first: without it, nothing is said about which ids exist.
  items.delete('/:id', stepUp, async (c) => {
    if (!(await store.remove(c.var.claims.sub, c.req.param('id')))) {
      // Another user's item is as unknown as one that never existed.
      throw new ApiError('not_found', 404, 'No such item');
    }
    return c.body(null, 204);
  });

  return items;
}
