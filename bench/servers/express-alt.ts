/**
 * The alternative a Node user would pick for the same job: express + express-openid-connect
 * (sign-in, encrypted cookie session, refresh) + http-proxy-middleware forwarding `/api/*` with
 * the session's access token as a bearer, behind the same rules as the BFF: 401 without a
 * session, 403 without `X-CSRF: 1`, a refresh when the access token has expired, and the
 * browser's `Cookie` and `X-CSRF` headers not forwarded. Library defaults otherwise (rolling
 * sessions, which re-seal the cookie on every response).
 *
 * Run as its own process: `node bench/dist/express-alt.js` with `PORT`, `ISSUER`, `CLIENT_ID`,
 * `CLIENT_SECRET`, `SESSION_SECRET` and `UPSTREAM_URL`. express-openid-connect 3 allows the
 * embedded IdP's `http:` issuer by itself (it turns on openid-client's `allowInsecureRequests`
 * for http issuers), so no option is needed for it.
 */
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { auth } from 'express-openid-connect';
import { createProxyMiddleware } from 'http-proxy-middleware';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new TypeError(`express-alt: ${name} is required`);
  return value;
}

const port = Number(required('PORT'));
const upstreamUrl = required('UPSTREAM_URL');

const app = express();
app.get('/healthz', (_req, res) => {
  res.send('ok');
});
app.use(
  auth({
    issuerBaseURL: required('ISSUER'),
    baseURL: `http://localhost:${port}`,
    clientID: required('CLIENT_ID'),
    clientSecret: required('CLIENT_SECRET'),
    secret: required('SESSION_SECRET'),
    authRequired: false,
    authorizationParams: { response_type: 'code', scope: 'openid profile email offline_access' },
  }),
);

async function requireSessionAndCsrf(req: Request, res: Response, next: NextFunction) {
  if (!req.oidc.isAuthenticated() || !req.oidc.accessToken) {
    res.status(401).json({ error: 'unauthenticated', message: 'Sign in to use the API.' });
    return;
  }
  if (req.get('x-csrf') !== '1') {
    res.status(403).json({ error: 'csrf_required', message: 'This call needs the X-CSRF: 1 header.' });
    return;
  }
  let token = req.oidc.accessToken;
  if (token.isExpired()) {
    try {
      token = await token.refresh();
    } catch (error) {
      next(error);
      return;
    }
  }
  res.locals.accessToken = token.access_token;
  next();
}

app.use(
  '/api',
  requireSessionAndCsrf,
  createProxyMiddleware<Request, Response>({
    target: upstreamUrl,
    changeOrigin: true,
    xfwd: true,
    agent: new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' }),
    on: {
      proxyReq(proxyReq, _req, res) {
        proxyReq.removeHeader('cookie');
        proxyReq.removeHeader('x-csrf');
        proxyReq.setHeader('authorization', `Bearer ${res.locals.accessToken as string}`);
      },
    },
  }),
);

const server = app.listen(port, '127.0.0.1');
server.keepAliveTimeout = 65_000;
process.once('SIGTERM', () => server.close(() => process.exit(0)));
