/**
 * Validation of the export target's locale and time zone. These are contract errors of
 * their own (InvalidExportJobUserLocale, InvalidTimezone), checked after the permission
 * check, so they are plain predicates rather than part of the request schema.
 */

// Both checks run on every create and cost a few percent of it uncached; hostile input
// cannot grow the caches past this.
const CACHE_LIMIT = 4096;

function cached(cache: Map<string, boolean>, key: string, compute: () => boolean): boolean {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const value = compute();
  if (cache.size < CACHE_LIMIT) cache.set(key, value);
  return value;
}

const knownLocales = new Map<string, boolean>();

export function isWellFormedLocale(tag: string): boolean {
  if (tag.length === 0 || tag.length > 128) return false;
  return cached(knownLocales, tag, () => {
    try {
      return Intl.getCanonicalLocales(tag).length === 1;
    } catch {
      return false;
    }
  });
}

// Area/Location only: Foundry rejects offsets ("+01:00") and abbreviations ("CET", "UTC").
const AREA_LOCATION = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9][A-Za-z0-9_+-]*)+$/;

const knownZones = new Map<string, boolean>();

export function isIanaTimezone(zone: string): boolean {
  if (zone.length > 64 || !AREA_LOCATION.test(zone)) return false;
  return cached(knownZones, zone, () => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  });
}
