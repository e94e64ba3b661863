/**
 * `GET /stats`: counts over every user, for a caller holding the `items:stats` scope (the BFF's
 * client-credentials token, `token: "client"`). Aggregates only: no owner, no item, no name.
 */
import { Hono } from 'hono';
import { type ApiEnv, requireScope } from '../bearer-auth.ts';
import type { ItemStats, ItemStore } from '../item-store.ts';

/** The scope `GET /stats` requires. */
export const STATS_SCOPE = 'items:stats';

/** What `GET /stats` answers. */
export type StatsBody = ItemStats;

/** The `/stats` route; mount after {@link bearerAuth}. */
export function statsRoutes(store: ItemStore): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  routes.get('/', requireScope(STATS_SCOPE), async (c) => {
    const body: StatsBody = await store.stats();
    return c.json(body);
  });
  return routes;
}
