/** The Worker's bindings: the D1 database and the vars of wrangler.jsonc (or --var). */
export interface Env {
  DB: D1Database;
  /** Fault switches, comma-separated (see faults.ts); "none" or empty for none. */
  FAULT?: string;
  /** How long the slow fault sleeps, in milliseconds. */
  SLOW_MS?: string;
  /** The version /health reports. */
  SERVICE_VERSION?: string;
}
