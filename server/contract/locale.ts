/**
 * Validation of the export target's locale and time zone. These are contract errors of
 * their own (InvalidExportJobUserLocale, InvalidTimezone), checked after the permission
 * check, so they are plain predicates rather than part of the request schema.
 */

export function isWellFormedLocale(tag: string): boolean {
  if (tag.length === 0 || tag.length > 128) return false;
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

// Area/Location only: Foundry rejects offsets ("+01:00") and abbreviations ("CET", "UTC").
const AREA_LOCATION = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9][A-Za-z0-9_+-]*)+$/;

const knownZones = new Map<string, boolean>();

export function isIanaTimezone(zone: string): boolean {
  if (zone.length > 64 || !AREA_LOCATION.test(zone)) return false;
  const cached = knownZones.get(zone);
  if (cached !== undefined) return cached;
  let ok: boolean;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    ok = true;
  } catch {
    ok = false;
  }
  // Only well-formed names reach here, so the cache is bounded by the zone database plus
  // the junk that matches the pattern; cap it anyway so hostile input cannot grow it.
  if (knownZones.size < 4096) knownZones.set(zone, ok);
  return ok;
}
