/**
 * The topology file: which entities a federation has, where they listen and how each province
 * builds its platform. Validated before use; every error names the offending field.
 * Format reference: docs/topology.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from '../infra/errors.ts';
import { PACKAGE_ROOT } from '../infra/package-root.ts';

export const DEFAULT_TOPOLOGY = join(PACKAGE_ROOT, 'federation', 'topologies', 'demo.json');

export type Tier = 'national' | 'province' | 'city';
export type BuildMode = 'separate' | 'hybrid' | 'unified';
export type EntityKind = 'op' | 'portal' | 'services';

const code = z.string().regex(/^[a-z][a-z0-9]{1,15}$/, 'must be 2-16 lowercase letters or digits, starting with a letter');
const port = z.number().int().min(1).max(65535);
const displayName = z.object({ 'zh-CN': z.string().min(1), en: z.string().min(1) }).strict();
const url = z.url({ protocol: /^https?$/ }).refine((u) => !u.endsWith('/'), 'must not end with a slash');
/** A GB/T 2260 administrative division code: the platform's region, which the catalog's authorities are placed in. */
const region = z.string().regex(/^\d{6}$/, 'must be a six-digit administrative division code (GB/T 2260)');
/** A platform's portal or services entity: where it listens, and optionally its own display name. */
const part = z.object({ port, url: url.optional(), name: displayName.optional() }).strict();

/** The code of the national platform and of its region (中华人民共和国 as the catalog's national authorities carry it). */
export const NATIONAL = 'national';
export const NATIONAL_REGION = '100000';

const city = z
  .object({
    code,
    name: displayName,
    region: region.optional(),
    /** A separate-mode city: its OP; a hybrid-mode city: its portal, a branded front of the province's. */
    port: port.optional(),
    url: url.optional(),
    /** A separate-mode city's own portal (a hybrid city's portal is the front at `port`). */
    portal: part.optional(),
    /** The city's management platform and data-sharing node (separate and hybrid modes). */
    services: part.optional(),
    /** Hybrid mode: the colour of the city's branding on the province's login pages. */
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #0b5394')
      .optional(),
  })
  .strict();

const province = z
  .object({
    code,
    name: displayName,
    mode: z.enum(['separate', 'hybrid', 'unified']),
    region: region.optional(),
    port,
    url: url.optional(),
    portal: part.optional(),
    services: part.optional(),
    cities: z.array(city).default([]),
  })
  .strict();

const topologySchema = z
  .object({
    name: z.string().min(1),
    host: z.union([z.literal('127.0.0.1'), z.literal('localhost'), z.literal('::1')]).default('127.0.0.1'),
    national: z
      .object({
        name: displayName,
        port,
        url: url.optional(),
        region: z.literal(NATIONAL_REGION, { error: `must be ${NATIONAL_REGION}` }).default(NATIONAL_REGION),
        portal: part.optional(),
      })
      .strict(),
    /** The national platform's services entity: base registries, message outbox, national catalog. */
    services: z.object({ code, name: displayName, port, url: url.optional() }).strict(),
    provinces: z.array(province).min(1),
    policy: z
      .object({
        /** OPs accept a portal by automatic registration only if it holds a valid government-portal trust mark. */
        portal_trust_mark_required: z.boolean().default(false),
      })
      .strict()
      .default({ portal_trust_mark_required: false }),
  })
  .strict();

export type TopologyFile = z.infer<typeof topologySchema>;

type Name = { 'zh-CN': string; en: string };

export interface Entity {
  /** Short name used on the command line and in schema, cookie and key names. */
  id: string;
  kind: EntityKind;
  tier: Tier;
  province: string | null;
  mode: BuildMode | null;
  /** The platform (平台) the entity is part of: "national", a province's or a city's code. An OP's platform is itself. */
  platform: string;
  /** The platform's GB/T 2260 division code, when the file gives it. */
  region: string | null;
  /** Base URL; also the entity identifier in the federation. */
  url: string;
  /** OPs only. */
  issuer: string | null;
  /** The entity above this one in the federation (null only for the national trust anchor). */
  superior: string | null;
  port: number;
  name: Name;
  /** A hybrid city portal's brand colour (the province's pages wear it for the city's people). */
  color?: string;
}

/** A platform of the federation: what one tier runs for its region (DESIGN.md, "Services"). */
export interface Platform {
  code: string;
  tier: Tier;
  province: string | null;
  mode: BuildMode | null;
  region: string | null;
  name: Name;
  /** The platform above it (a city's province, a province's national); null for national. */
  parent: string | null;
}

export interface Topology {
  name: string;
  host: string;
  policy: { portal_trust_mark_required: boolean };
  entities: Entity[];
  platforms: Platform[];
  get(idOrUrl: string): Entity;
  ops(): Entity[];
  /** The national platform's services entity (base registries, message outbox). */
  services(): Entity;
  /** The platform's services entity (management platform and data-sharing node); throws when it has none. */
  servicesOf(platform: string): Entity;
  /** The platform's portal (a hybrid city's: its branded front); throws when it has none. */
  portalOf(platform: string): Entity;
  /** The services entity nearest the platform: its own, else that of the platform above it, up to national's. */
  nearestServices(platform: string): Entity;
  /** The OP where the platform's accounts live: its own, or (a hybrid city) its province's. */
  opOf(platform: string): Entity;
  platform(code: string): Platform;
  /** The platform whose services entity keeps the catalog items of authorities in `region`: the most specific one whose region contains it. */
  platformOfRegion(region: string): string;
}

function issuesToError(source: string, error: z.ZodError): ConfigurationError {
  const first = error.issues[0]!;
  const path = first.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  return new ConfigurationError(`${source}: ${path || '(root)'}`, first.message + more);
}

/** Does division `outer` contain division `inner`? National contains all; a province XX0000 its XX….; a city XXYY00 its XXYY... */
export function regionContains(outer: string, inner: string): boolean {
  if (outer === NATIONAL_REGION) return true;
  if (outer.endsWith('0000')) return inner.startsWith(outer.slice(0, 2));
  if (outer.endsWith('00')) return inner.startsWith(outer.slice(0, 4));
  return inner === outer;
}

/** The divisions above division `region`, nearest first: a county's city, its province, then national. */
export function regionsAbove(region: string): string[] {
  if (region === NATIONAL_REGION) return [];
  const province = `${region.slice(0, 2)}0000`;
  const city = `${region.slice(0, 4)}00`;
  if (region === province) return [NATIONAL_REGION];
  return region === city ? [province, NATIONAL_REGION] : [city, province, NATIONAL_REGION];
}

const NEEDS_REGION = 'a platform with a services entity needs its region: its catalog holds the items of that region';

const servicesName = (n: Name): Name => ({ 'zh-CN': `${n['zh-CN']}（管理平台）`, en: `${n.en} (management platform)` });

export function parseTopology(raw: unknown, source = 'topology'): Topology {
  const parsed = topologySchema.safeParse(raw);
  if (!parsed.success) throw issuesToError(source, parsed.error);
  const file = parsed.data;
  const hostInUrl = file.host.includes(':') ? `[${file.host}]` : file.host;
  const at = (p: number, explicit?: string) => explicit ?? `http://${hostInUrl}:${p}`;
  const entities: Entity[] = [];
  const platforms: Platform[] = [];
  const fail = (path: string, msg: string): never => {
    throw new ConfigurationError(`${source}: ${path}`, msg);
  };

  // Every code, entity ID and port is unique across the file; a clash is reported at the second field.
  const codes = new Map<string, string>([[NATIONAL, NATIONAL]]);
  const ports = new Map<number, string>();
  const regions = new Map<string, string>([[NATIONAL_REGION, NATIONAL]]);
  const claim = (field: string, c: string | null, p: number | undefined) => {
    const label = c === null ? field : `${c} (${field})`;
    if (c !== null) {
      if (codes.has(c)) fail(`${field}.code`, `the code "${c}" is used twice (also by ${codes.get(c)})`);
      codes.set(c, label);
    }
    if (p !== undefined) {
      if (ports.has(p)) fail(`${field}.port`, `port ${p} is already used by ${ports.get(p)}`);
      ports.set(p, label);
    }
  };
  const claimRegion = (field: string, platform: string, r: string | undefined, within: string | null) => {
    if (r === undefined) return;
    if (regions.has(r)) fail(`${field}.region`, `the region ${r} is used twice (also by ${regions.get(r)})`);
    regions.set(r, platform);
    const tierOk = within === null ? r.endsWith('0000') : r.endsWith('00') && !r.endsWith('0000');
    if (!tierOk)
      fail(`${field}.region`, within === null ? "a province's division code ends in 0000" : "a city's division code ends in 00, not 0000");
    if (within !== null && !regionContains(within, r)) fail(`${field}.region`, `${r} is not within its province's region ${within}`);
  };
  claim('national', null, file.national.port);
  claim('services', file.services.code, file.services.port);
  if (file.national.portal) claim('national.portal', null, file.national.portal.port);
  file.provinces.forEach((p, i) => {
    claim(`provinces[${i}]`, p.code, p.port);
    claimRegion(`provinces[${i}]`, p.code, p.region, null);
    if (p.portal) claim(`provinces[${i}].portal`, null, p.portal.port);
    if (p.services) claim(`provinces[${i}].services`, null, p.services.port);
    if (p.services && !p.region) fail(`provinces[${i}].region`, NEEDS_REGION);
    p.cities.forEach((c, j) => {
      const field = `provinces[${i}].cities[${j}]`;
      claim(field, c.code, c.port);
      if (p.region) claimRegion(field, c.code, c.region, p.region);
      else if (c.region) fail(`${field}.region`, "a city's region needs its province's region");
      if (c.portal) claim(`${field}.portal`, null, c.portal.port);
      if (c.services) claim(`${field}.services`, null, c.services.port);
      if (c.services && !c.region) fail(`${field}.region`, NEEDS_REGION);
    });
  });

  const op = (e: Omit<Entity, 'kind' | 'issuer'>): Entity => ({ ...e, kind: 'op', issuer: e.url });
  /** A platform's portal and services entity are leaves under the federation authority of its province (or national). */
  const parts = (
    platform: Platform,
    superior: string,
    spec: { portal?: z.infer<typeof part>; services?: z.infer<typeof part> },
    servicesId = `${platform.code}-services`,
  ) => {
    const common = {
      tier: platform.tier,
      province: platform.province,
      mode: platform.mode,
      platform: platform.code,
      region: platform.region,
    };
    if (spec.portal)
      entities.push({
        ...common,
        id: `${platform.code}-portal`,
        kind: 'portal',
        url: at(spec.portal.port, spec.portal.url),
        issuer: null,
        superior,
        port: spec.portal.port,
        name: spec.portal.name ?? platform.name,
      });
    if (spec.services)
      entities.push({
        ...common,
        id: servicesId,
        kind: 'services',
        url: at(spec.services.port, spec.services.url),
        issuer: null,
        superior,
        port: spec.services.port,
        name: spec.services.name ?? servicesName(platform.name),
      });
  };

  const national: Platform = {
    code: NATIONAL,
    tier: 'national',
    province: null,
    mode: null,
    region: file.national.region,
    name: file.national.name,
    parent: null,
  };
  platforms.push(national);
  entities.push(
    op({
      id: NATIONAL,
      tier: 'national',
      province: null,
      mode: null,
      platform: NATIONAL,
      region: national.region,
      url: at(file.national.port, file.national.url),
      superior: null,
      port: file.national.port,
      name: file.national.name,
    }),
  );
  // The national services entity keeps its own code (its entity ID).
  parts(national, NATIONAL, { portal: file.national.portal, services: { ...file.services, name: file.services.name } }, file.services.code);
  file.provinces.forEach((p, i) => {
    const province: Platform = {
      code: p.code,
      tier: 'province',
      province: p.code,
      mode: p.mode,
      region: p.region ?? null,
      name: p.name,
      parent: NATIONAL,
    };
    platforms.push(province);
    entities.push(
      op({
        id: p.code,
        tier: 'province',
        province: p.code,
        mode: p.mode,
        platform: p.code,
        region: province.region,
        url: at(p.port, p.url),
        superior: NATIONAL,
        port: p.port,
        name: p.name,
      }),
    );
    parts(province, p.code, p);
    p.cities.forEach((c, j) => {
      const path = `provinces[${i}].cities[${j}]`;
      if (p.mode === 'unified') fail(`provinces[${i}].cities`, 'a unified province has no city platforms; list its cities nowhere');
      const cityPlatform: Platform = {
        code: c.code,
        tier: 'city',
        province: p.code,
        mode: p.mode,
        region: c.region ?? null,
        name: c.name,
        parent: p.code,
      };
      platforms.push(cityPlatform);
      const common = { tier: 'city' as const, province: p.code, mode: p.mode, platform: c.code, region: cityPlatform.region, name: c.name };
      if (p.mode === 'separate') {
        if (c.port === undefined) fail(`${path}.port`, 'a city of a separate-mode province runs its own OP and needs a port');
        entities.push(op({ ...common, id: c.code, url: at(c.port!, c.url), superior: p.code, port: c.port! }));
        parts(cityPlatform, p.code, c);
      } else {
        if (c.portal) fail(`${path}.portal`, "a hybrid city's portal is its branded front: give the front's port as the city's port");
        // Hybrid-mode cities have a front of the province's portal; their accounts live at the province.
        if (c.port !== undefined)
          entities.push({
            ...common,
            id: c.code,
            kind: 'portal',
            url: at(c.port, c.url),
            issuer: null,
            superior: p.code,
            port: c.port,
            ...(c.color ? { color: c.color } : {}),
          });
        parts(cityPlatform, p.code, { services: c.services });
      }
    });
  });
  const known = () => entities.map((e) => e.id).join(', ');
  const platformByCode = new Map(platforms.map((p) => [p.code, p]));
  const platformOf = (code: string): Platform =>
    platformByCode.get(code) ??
    fail('--platform', `no platform "${code}" in topology ${file.name}; known: ${platforms.map((p) => p.code).join(', ')}`);
  const partOf = (kind: EntityKind, code: string) => {
    platformOf(code);
    return entities.find((e) => e.kind === kind && e.platform === code) ?? null;
  };
  const withServices = platforms.filter((p) => p.region !== null && partOf('services', p.code));
  return {
    name: file.name,
    host: file.host,
    policy: file.policy,
    entities,
    platforms,
    get(idOrUrl: string) {
      const found = entities.find((e) => e.id === idOrUrl || e.url === idOrUrl.replace(/\/$/, ''));
      if (!found) throw new ConfigurationError('--entity', `no entity "${idOrUrl}" in topology ${file.name}; known: ${known()}`);
      return found;
    },
    ops: () => entities.filter((e) => e.kind === 'op'),
    services: () => partOf('services', NATIONAL)!,
    servicesOf: (code) => partOf('services', code) ?? fail('--platform', `platform ${code} has no services entity`),
    portalOf: (code) => partOf('portal', code) ?? fail('--platform', `platform ${code} has no portal`),
    nearestServices(code) {
      for (let p: Platform | undefined = platformOf(code); p; p = p.parent ? platformOf(p.parent) : undefined) {
        const found = partOf('services', p.code);
        if (found) return found;
      }
      return partOf('services', NATIONAL)!;
    },
    opOf(code) {
      const p = platformOf(code);
      return partOf('op', p.code) ?? partOf('op', p.parent!)!;
    },
    platform: platformOf,
    platformOfRegion(r) {
      // The most specific: a city's region lies within its province's, which lies within national's.
      const holders = withServices.filter((p) => regionContains(p.region!, r));
      const order: Record<Tier, number> = { city: 0, province: 1, national: 2 };
      return holders.sort((a, b) => order[a.tier] - order[b.tier])[0]?.code ?? NATIONAL;
    },
  };
}

export function loadTopology(path = DEFAULT_TOPOLOGY): Topology {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigurationError(path, `cannot read the topology file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigurationError(path, `not valid JSON: ${(err as Error).message}`);
  }
  return parseTopology(raw, path);
}

/** What `gov-id topology` prints: the public description of each entity. */
export function describeTopology(t: Topology) {
  return t.entities.map(({ id, kind, platform, tier, province, mode, region, url, issuer, superior, name }) => ({
    id,
    kind,
    platform,
    tier,
    province,
    mode,
    region,
    url,
    issuer,
    superior,
    name,
  }));
}
