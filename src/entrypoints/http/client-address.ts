import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/** Whether an address is one of the operator's proxies (TRUSTED_PROXIES); never true when none are listed. */
export type TrustProxy = (address: string, hop: number) => boolean;

export function trustProxies(list: readonly string[]): TrustProxy {
  return list.length === 0 ? () => false : proxyAddr.compile([...list]);
}

/**
 * The client's address: X-Forwarded-For is read only through proxies the operator listed (from the socket
 * outwards, stopping at the first address that is not one of them); otherwise the socket address counts.
 * The same rule as express's `trust proxy`, for routes served on node:http before express.
 */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  return proxyAddr(req, trust) || req.socket.remoteAddress || 'unknown';
}
