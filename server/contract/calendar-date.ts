/**
 * A calendar date `YYYY-MM-DD` (a `date` template parameter, a `date` content node) as
 * midnight UTC of that day, or undefined when it is not a real day of the proleptic
 * Gregorian calendar. setUTCFullYear, unlike Date.UTC, keeps the years 0-99 as they are.
 */
export function calendarDateOf(value: string): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? date : undefined;
}
