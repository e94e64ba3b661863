/**
 * `pnpm start`: the production BFF. Always production, whatever `NODE_ENV` or `.env` say:
 * development features (diagnostics, the embedded IdP's defaults, generated secrets) exist only
 * in `dev-server.ts`, which the production build does not include.
 */
import { runBff } from './run-bff.ts';

await runBff('production');
