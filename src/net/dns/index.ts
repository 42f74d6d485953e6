// Our own resolver (hosts file + DNS over UDP/TCP on main-thread sockets): no getaddrinfo,
// no NSS, no c-ares. The public surface other modules use.
export {
  lookupHost,
  reverseLookup,
  resolveSrv,
  resolveUri,
  resolveTxt,
  primarySearchDomain,
  type DnsOptions,
  type HostLookup,
  type HostAddress,
  type SrvRecord,
  type UriRecord,
} from './resolver.ts';
export {
  DnsLookupError,
  DnsNotFoundError,
  DnsNoDataError,
  DnsTimeoutError,
  DnsServerError,
  DnsBadQueryError,
  EaiCode,
  type EaiName,
} from './errors.ts';
export { ipFamily, ipLiteralLookup, parseIpAddress, type IpAddress, type IpFamily } from './ip.ts';
export type { DnsServer } from './resolv-conf.ts';
