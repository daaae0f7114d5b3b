/**
 * Where a federation fetch may connect: a GET over node:http(s) that refuses, before any
 * connection is made, a host that is or resolves to a private, loopback, link-local, CGNAT,
 * unique-local, multicast, reserved or unspecified address, unless that address is on the allow
 * list (the demo topology's own loopback host). The check runs on the addresses the connection
 * actually uses (the lookup hook of the request), so a name cannot resolve to a public address
 * when checked and to a private one when connected. Redirects are never followed; the answer is
 * read up to a size limit and within a time limit.
 */
import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { requestIdHeaders } from '../infra/request-id.ts';

/** Addresses no federation fetch may reach unless allowed by name (RFC 6890 special-purpose registries). */
const SPECIAL_PURPOSE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", including the unspecified address
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // CGNAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and broadcast
] as const)
  SPECIAL_PURPOSE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64: an IPv4 address in disguise
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const)
  SPECIAL_PURPOSE.addSubnet(net, prefix, 'ipv6');

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The address a connection to `address` reaches: an IPv4-mapped IPv6 address is its IPv4 address. */
function normalize(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  const mapped = IPV4_MAPPED.exec(bare);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address: bare, family: isIP(bare) === 6 ? 'ipv6' : 'ipv4' };
}

/** Which IP addresses a federation fetch may connect to: public ones, and the ones allowed by name. */
export function addressPolicy(allowed: Iterable<string>): (address: string) => boolean {
  const allowList = new Set([...allowed].map((a) => normalize(a).address));
  return (address) => {
    const { address: a, family } = normalize(address);
    if (isIP(a) === 0) return false;
    return allowList.has(a) || !SPECIAL_PURPOSE.check(a, family);
  };
}

/** The addresses the demo topology's host stands for (its entities all listen there). */
export function topologyAddresses(host: string): string[] {
  return host === 'localhost' ? ['127.0.0.1', '::1'] : [host];
}

/** A fetch the address policy does not let out. */
export class AddressRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefused';
  }

  static forAddress(host: string, address: string): AddressRefused {
    return new AddressRefused(
      `${host} is ${host === address ? '' : `at ${address}, `}an address federation fetches may not reach (private, loopback, link-local or reserved)`,
    );
  }
}

export class ResponseTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`response exceeds ${maxBytes} bytes`);
    this.name = 'ResponseTooLarge';
  }
}

/** dns.lookup, refusing the whole name when any of its addresses is not permitted. */
function guardedLookup(permitted: (address: string) => boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...(options as LookupOptions), all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refused = addresses.find((a) => !permitted(a.address));
      if (refused || addresses.length === 0) return callback(AddressRefused.forAddress(hostname, refused?.address ?? 'no address'), '', 0);
      if ((options as LookupOptions).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

export interface GuardedGetOptions {
  permitted: (address: string) => boolean;
  accept: string;
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface GuardedResponse {
  status: number;
  /** Media type without parameters, lower case ('' when missing). */
  contentType: string;
  body: string;
}

/**
 * GET `target` if its host is permitted; throws AddressRefused before connecting otherwise. A
 * redirect is answered like any other non-200 status (it is not followed).
 */
export function guardedGet(target: string, opts: GuardedGetOptions): Promise<GuardedResponse> {
  const url = new URL(target);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return Promise.reject(new AddressRefused(`${url.protocol} URLs are not fetched`));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An IP literal is connected to without a lookup: check it here.
  if (isIP(host) !== 0 && !opts.permitted(host)) return Promise.reject(AddressRefused.forAddress(host, host));
  const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // A connection of its own (agent: false): nothing is reused past the check, and no kept-alive socket closes under a request.
    const req = client.get(
      url,
      { headers: { accept: opts.accept, ...requestIdHeaders() }, lookup: guardedLookup(opts.permitted), signal, agent: false },
      (res) => {
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > opts.maxBytes) {
          req.destroy();
          return reject(new ResponseTooLarge(opts.maxBytes));
        }
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > opts.maxBytes) {
            req.destroy();
            reject(new ResponseTooLarge(opts.maxBytes));
          } else chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}
