/**
 * `pnpm dev`'s BFF: development mode (the embedded IdP's defaults, a generated secret when none
 * is set, the diagnostics route, pages from Vite). Never part of the production build.
 */
import { runBff } from './run-bff.ts';

await runBff('development');
