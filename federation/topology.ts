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

const city = z
  .object({
    code,
    name: displayName,
    port: port.optional(),
    url: url.optional(),
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
    port,
    url: url.optional(),
    cities: z.array(city).default([]),
  })
  .strict();

const topologySchema = z
  .object({
    name: z.string().min(1),
    host: z.union([z.literal('127.0.0.1'), z.literal('localhost'), z.literal('::1')]).default('127.0.0.1'),
    national: z.object({ name: displayName, port, url: url.optional() }).strict(),
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

export interface Entity {
  /** Short name used on the command line and in schema, cookie and key names. */
  id: string;
  kind: EntityKind;
  tier: Tier;
  province: string | null;
  mode: BuildMode | null;
  /** Base URL; also the entity identifier in the federation. */
  url: string;
  /** OPs only. */
  issuer: string | null;
  /** The entity above this one in the federation (null only for the national trust anchor). */
  superior: string | null;
  port: number;
  name: { 'zh-CN': string; en: string };
  /** A hybrid city portal's brand colour (the province's pages wear it for the city's people). */
  color?: string;
}

export interface Topology {
  name: string;
  host: string;
  policy: { portal_trust_mark_required: boolean };
  entities: Entity[];
  get(idOrUrl: string): Entity;
  ops(): Entity[];
  services(): Entity;
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

export function parseTopology(raw: unknown, source = 'topology'): Topology {
  const parsed = topologySchema.safeParse(raw);
  if (!parsed.success) throw issuesToError(source, parsed.error);
  const file = parsed.data;
  const hostInUrl = file.host.includes(':') ? `[${file.host}]` : file.host;
  const at = (p: number, explicit?: string) => explicit ?? `http://${hostInUrl}:${p}`;
  const entities: Entity[] = [];
  const fail = (path: string, msg: string) => {
    throw new ConfigurationError(`${source}: ${path}`, msg);
  };

  // Every code and port is unique across the file; a clash is reported at the second field.
  const codes = new Map<string, string>([['national', 'national']]);
  const ports = new Map<number, string>();
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
  claim('national', null, file.national.port);
  claim('services', file.services.code, file.services.port);
  file.provinces.forEach((p, i) => {
    claim(`provinces[${i}]`, p.code, p.port);
    p.cities.forEach((c, j) => claim(`provinces[${i}].cities[${j}]`, c.code, c.port));
  });

  const op = (e: Omit<Entity, 'kind' | 'issuer'>): Entity => ({ ...e, kind: 'op', issuer: e.url });
  entities.push(
    op({
      id: 'national',
      tier: 'national',
      province: null,
      mode: null,
      url: at(file.national.port, file.national.url),
      superior: null,
      port: file.national.port,
      name: file.national.name,
    }),
  );
  file.provinces.forEach((p, i) => {
    entities.push(
      op({
        id: p.code,
        tier: 'province',
        province: p.code,
        mode: p.mode,
        url: at(p.port, p.url),
        superior: 'national',
        port: p.port,
        name: p.name,
      }),
    );
    p.cities.forEach((c, j) => {
      const path = `provinces[${i}].cities[${j}]`;
      if (p.mode === 'unified') fail(`provinces[${i}].cities`, 'a unified province has no city platforms; list its cities nowhere');
      if (p.mode === 'separate') {
        if (c.port === undefined) fail(`${path}.port`, 'a city of a separate-mode province runs its own OP and needs a port');
        entities.push(
          op({
            id: c.code,
            tier: 'city',
            province: p.code,
            mode: p.mode,
            url: at(c.port!, c.url),
            superior: p.code,
            port: c.port!,
            name: c.name,
          }),
        );
      } else if (c.port !== undefined) {
        // Hybrid-mode cities have portals only; their accounts live at the province.
        entities.push({
          id: c.code,
          kind: 'portal',
          tier: 'city',
          province: p.code,
          mode: p.mode,
          url: at(c.port, c.url),
          issuer: null,
          superior: p.code,
          port: c.port,
          name: c.name,
          ...(c.color ? { color: c.color } : {}),
        });
      }
    });
  });
  entities.push({
    id: file.services.code,
    kind: 'services',
    tier: 'national',
    province: null,
    mode: null,
    url: at(file.services.port, file.services.url),
    issuer: null,
    superior: 'national',
    port: file.services.port,
    name: file.services.name,
  });

  return {
    name: file.name,
    host: file.host,
    policy: file.policy,
    entities,
    get(idOrUrl: string) {
      const found = entities.find((e) => e.id === idOrUrl || e.url === idOrUrl.replace(/\/$/, ''));
      if (!found)
        throw new ConfigurationError(
          '--entity',
          `no entity "${idOrUrl}" in topology ${file.name}; known: ${entities.map((e) => e.id).join(', ')}`,
        );
      return found;
    },
    ops: () => entities.filter((e) => e.kind === 'op'),
    services: () => entities.find((e) => e.kind === 'services')!,
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
  return t.entities.map(({ id, kind, tier, province, mode, url, issuer, superior, name }) => ({
    id,
    kind,
    tier,
    province,
    mode,
    url,
    issuer,
    superior,
    name,
  }));
}
