/** What changed between two versions of an item: each element that differs, by its path. */
export interface VersionDifference {
  path: string;
  from: unknown;
  to: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export function diffVersions(from: unknown, to: unknown, path = ''): VersionDifference[] {
  if (isRecord(from) && isRecord(to) && Array.isArray(from) === Array.isArray(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])];
    return keys.flatMap((k) => diffVersions(from[k], to[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(from) === JSON.stringify(to) ? [] : [{ path: path || '.', from: from ?? null, to: to ?? null }];
}
