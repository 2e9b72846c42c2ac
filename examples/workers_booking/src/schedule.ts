/** Slots: a provider's working hours cut into slots of slotMinutes, in UTC, within one day. */
import type { ProviderT } from "./schemas";

const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
const clockOf = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;

/** Every slot of `date` (YYYY-MM-DD) as [startsAt, endsAt] in the API's UTC form. */
export function slotsOf(provider: ProviderT, date: string): Array<[string, string]> {
  const slots: Array<[string, string]> = [];
  const closes = minutesOf(provider.closesAt);
  for (let start = minutesOf(provider.opensAt); start + provider.slotMinutes <= closes; start += provider.slotMinutes) {
    slots.push([`${date}T${clockOf(start)}:00Z`, `${date}T${clockOf(start + provider.slotMinutes)}:00Z`]);
  }
  return slots;
}

/** An RFC 3339 time (any offset) in the API's UTC form, and whether it falls on a whole minute. */
export interface Instant {
  utc: string;
  wholeMinute: boolean;
}

/** The instant `time` names, or null outside the years 0001 to 9999 the API can write. */
export function instant(time: string): Instant | null {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return null;
  const at = new Date(ms);
  const year = at.getUTCFullYear();
  if (year < 1 || year > 9999) return null;
  // toISOString gives years 0 to 9999 as four digits: 2030-01-07T09:30:00.000Z
  return { utc: `${at.toISOString().slice(0, 19)}Z`, wholeMinute: ms % 60_000 === 0 };
}

/** The slot of `provider` that starts at `at`, or null when none does. */
export function slotAt(provider: ProviderT, at: Instant): [string, string] | null {
  if (!at.wholeMinute) return null;
  return slotsOf(provider, at.utc.slice(0, 10)).find(([start]) => start === at.utc) ?? null;
}
