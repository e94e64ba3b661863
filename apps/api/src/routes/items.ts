/**
 * `GET /items` and `POST /items`: the tutorial's `/read-items`, per user. The owner is always the
 * verified token's `sub`, never something the request names, so one user cannot reach another's items.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiEnv } from '../bearer-auth.ts';
import { ApiError } from '../errors.ts';
import type { ItemStore } from '../item-store.ts';

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

/** The `/items` routes; mount after {@link bearerAuth} so that `c.var.claims` is set. */
export function itemRoutes(store: ItemStore): Hono<ApiEnv> {
  const items = new Hono<ApiEnv>();

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

  return items;
}
