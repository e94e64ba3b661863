export * from './api-routes.ts';
export * from './config.ts';
export * from './dev-defaults.ts';
export * from './urls.ts';
export * from './wire.ts';
