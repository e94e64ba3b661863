import net from 'node:net';
import { createClient, createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RedisCluster,
  type RedisServer,
  redisAvailable,
  startRedisCluster,
  startRedisServer,
} from './redis-server.ts';

/** Resolves with the connection error's code, or `'connected'`. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  // Clients first, then servers: closing a client needs its server.
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe.skipIf(!redisAvailable())('startRedisServer', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
    cleanups.push(() => server.close());
  });

  it('serves a real redis on a loopback port', async () => {
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.pid).toBeTypeOf('number');
    const client = createClient({ url: server.url });
    client.on('error', () => {}); // reconnect attempts are reported here; the test checks results
    cleanups.push(() => client.close());
    await client.connect();
    await client.set('greeting', 'hello');
    expect(await client.get('greeting')).toBe('hello');
  });

  it('stops (refusing connections) and starts again on the same port', async () => {
    const { port } = server;
    // A client that outlives the outage: it reconnects by itself once the server is back.
    const survivor = createClient({ url: server.url, socket: { reconnectStrategy: 50 } });
    survivor.on('error', () => {}); // ECONNREFUSED while the server is down is the point
    cleanups.push(() => survivor.close());
    await survivor.connect();

    await server.stop();
    await server.stop(); // idempotent
    expect(server.pid).toBeUndefined();
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    const fresh = createClient({ url: server.url, socket: { reconnectStrategy: false } });
    fresh.on('error', () => {}); // the rejected connect() below carries the same error
    await expect(fresh.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await server.start();
    expect(server.port).toBe(port);
    expect(server.pid).toBeTypeOf('number');
    expect(await tryConnect(port)).toBe('connected');
    // Data is gone (nothing persisted), and the surviving client is usable again.
    expect(await survivor.get('greeting')).toBeNull();
    expect(await survivor.ping()).toBe('PONG');
  });
});

describe.skipIf(!redisAvailable())('startRedisServer with a password', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer({ password: 's3cret pass' });
    cleanups.push(() => server.close());
  });

  it('refuses unauthenticated commands and accepts the password', async () => {
    // Without `reconnectStrategy: false`, connect() would retry the refused handshake forever.
    const noRetry = { reconnectStrategy: false } as const;
    const anonymous = createClient({ url: server.url, socket: noRetry });
    anonymous.on('error', () => {}); // the rejected connect() carries the same error
    // node-redis speaks RESP3, so the refusal comes at the handshake (`HELLO`).
    await expect(anonymous.connect()).rejects.toThrow(/^NOAUTH/);
    const resp2 = createClient({ url: server.url, RESP: 2, socket: noRetry });
    cleanups.push(() => resp2.close());
    await resp2.connect(); // RESP2 sends no HELLO: the first command is refused instead
    await expect(resp2.get('x')).rejects.toThrow(/^NOAUTH/);
    const wrong = createClient({ url: server.url, password: 'wrong', socket: noRetry });
    wrong.on('error', () => {});
    await expect(wrong.connect()).rejects.toThrow(/^WRONGPASS/);

    const client = createClient({ url: server.url, password: 's3cret pass' });
    cleanups.push(() => client.close());
    await client.connect();
    await client.set('x', '1');
    expect(await client.get('x')).toBe('1');
  });
});

describe.skipIf(!redisAvailable())('startRedisCluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    cleanups.push(() => cluster.close());
  }, 30_000);

  it('serves keys from every slot range through a cluster client', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.url).toBe(cluster.nodes[0]!.url);
    const client = createCluster({ rootNodes: [{ url: cluster.url }] });
    client.on('error', () => {});
    cleanups.push(() => client.close());
    await client.connect();
    const keys = ['{a}x', '{b}y', '{c}z'];
    for (const key of keys) await client.set(key, `value of ${key}`);
    for (const key of keys) expect(await client.get(key)).toBe(`value of ${key}`);
    // The hash tags land on three different masters: each node holds exactly one of the keys.
    for (const node of cluster.nodes) {
      const direct = createClient({ url: node.url });
      await direct.connect();
      expect(await direct.dbSize()).toBe(1);
      await direct.close();
    }
  });
});
