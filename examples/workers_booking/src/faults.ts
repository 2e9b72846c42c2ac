/**
 * Fault switches: deliberate misbehaviour, so the deployment gate can be tested against a real
 * Worker. They come from the FAULT var, comma-separated, fixed for the Worker's lifetime:
 * `wrangler dev --var FAULT:server_error,slow`.
 */
export const FAULTS = {
  server_error: "GET /appointments answers 500",
  bad_response: "GET /providers answers providers whose slotMinutes is a string",
  accept_invalid: "POST /appointments answers 201 to an invalid body (and stores nothing)",
  slow: "GET /providers/{providerId}/slots sleeps SLOW_MS (default 1500) first",
  unhealthy: "GET /health answers 503",
} as const;

export type Fault = keyof typeof FAULTS;

export class FaultError extends Error {}

/** The switches named in `text`; a FaultError names an unknown one. */
export function parseFaults(text: string | undefined): ReadonlySet<Fault> {
  const names = (text ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "" && name !== "none");
  const unknown = names.filter((name) => !(name in FAULTS));
  if (unknown.length > 0) {
    throw new FaultError(
      `FAULT: unknown fault switch ${unknown.join(", ")}; known: none, ${Object.keys(FAULTS).join(", ")}`,
    );
  }
  return new Set(names as Fault[]);
}
