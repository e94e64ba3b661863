/**
 * The client's address, and the `X-Forwarded-For` chain to send upstream, under `TRUST_PROXY`.
 *
 * Without trusted hops, the socket's address is the client and any `X-Forwarded-For` the client
 * sent is ignored (it is spoofable). With `hops` = n, the last n entries were appended by our own
 * proxies (the nearest one is the socket), so the client is the entry just before them; entries
 * further left were written by whoever connected to the first proxy and are not believed.
 *
 * @see RFC 7239 §5.2 (a proxy appends the address it received the request from)
 */
const ADDRESS = /^[\w.:[\]-]{1,64}$/;

export interface ClientAddress {
  readonly client: string | undefined;
  /** `X-Forwarded-For` for the upstream: the client, then the trusted hops. */
  readonly forwardedFor: string | undefined;
}

export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  hops: number,
): ClientAddress {
  if (hops === 0 || forwardedFor === undefined) return { client: socketAddress, forwardedFor: socketAddress };
  const listed = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    // Addresses only (IPv4, IPv6, a proxy's "unknown" or obfuscated id): anything else is not an address we can pass on.
    .map((entry) => (ADDRESS.test(entry) ? entry : 'unknown'));
  const chain = socketAddress === undefined ? listed : [...listed, socketAddress];
  const index = Math.max(0, chain.length - 1 - hops);
  const believed = chain.slice(index);
  return { client: believed[0], forwardedFor: believed.length > 0 ? believed.join(', ') : undefined };
}
