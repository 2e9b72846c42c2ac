/** D1 access: rows in snake_case columns, objects in the API's camelCase. */
import type { AppointmentT, ProviderT } from "./schemas";

interface ProviderRow {
  id: string;
  name: string;
  specialty: string;
  opens_at: string;
  closes_at: string;
  slot_minutes: number;
  created_at: string;
}

interface AppointmentRow {
  id: string;
  provider_id: string;
  patient_name: string;
  patient_email: string;
  starts_at: string;
  ends_at: string;
  status: "booked" | "cancelled";
  notes: string;
  created_at: string;
  updated_at: string;
}

const provider = (row: ProviderRow): ProviderT => ({
  id: row.id,
  name: row.name,
  specialty: row.specialty,
  opensAt: row.opens_at,
  closesAt: row.closes_at,
  slotMinutes: row.slot_minutes,
  createdAt: row.created_at,
});

const appointment = (row: AppointmentRow): AppointmentT => ({
  id: row.id,
  providerId: row.provider_id,
  patientName: row.patient_name,
  patientEmail: row.patient_email,
  startsAt: row.starts_at,
  endsAt: row.ends_at,
  status: row.status,
  notes: row.notes,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface Page<T> {
  items: T[];
  total: number;
}

/** Filters as SQL: a WHERE clause over the given columns and its bound values. */
function where(filters: Record<string, string | undefined>): [string, string[]] {
  const used = Object.entries(filters).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (used.length === 0) return ["", []];
  return [` WHERE ${used.map(([column]) => `${column} = ?`).join(" AND ")}`, used.map(([, value]) => value)];
}

export class Store {
  constructor(private readonly db: D1Database) {}

  async ping(): Promise<boolean> {
    try {
      return (await this.db.prepare("SELECT 1 AS one").first<{ one: number }>())?.one === 1;
    } catch {
      return false;
    }
  }

  async providers(specialty: string | undefined, limit: number, offset: number): Promise<Page<ProviderT>> {
    const [clause, values] = where({ specialty });
    const [rows, count] = await this.db.batch([
      this.db.prepare(`SELECT * FROM providers${clause} ORDER BY name, id LIMIT ? OFFSET ?`).bind(...values, limit, offset),
      this.db.prepare(`SELECT count(*) AS total FROM providers${clause}`).bind(...values),
    ]);
    return {
      items: (rows.results as ProviderRow[]).map(provider),
      total: (count.results[0] as { total: number }).total,
    };
  }

  async provider(id: string): Promise<ProviderT | null> {
    const row = await this.db.prepare("SELECT * FROM providers WHERE id = ?").bind(id.toLowerCase()).first<ProviderRow>();
    return row === null ? null : provider(row);
  }

  /** The start times of the booked appointments of one provider on one day. */
  async bookedStarts(providerId: string, date: string): Promise<Set<string>> {
    const { results } = await this.db
      .prepare("SELECT starts_at FROM appointments WHERE provider_id = ? AND status = 'booked' AND substr(starts_at, 1, 10) = ?")
      .bind(providerId, date)
      .all<{ starts_at: string }>();
    return new Set(results.map((row) => row.starts_at));
  }

  async appointments(
    providerId: string | undefined,
    status: string | undefined,
    limit: number,
    offset: number,
  ): Promise<Page<AppointmentT>> {
    const [clause, values] = where({ provider_id: providerId?.toLowerCase(), status });
    const [rows, count] = await this.db.batch([
      this.db
        .prepare(`SELECT * FROM appointments${clause} ORDER BY starts_at, id LIMIT ? OFFSET ?`)
        .bind(...values, limit, offset),
      this.db.prepare(`SELECT count(*) AS total FROM appointments${clause}`).bind(...values),
    ]);
    return {
      items: (rows.results as AppointmentRow[]).map(appointment),
      total: (count.results[0] as { total: number }).total,
    };
  }

  async appointment(id: string): Promise<AppointmentT | null> {
    const row = await this.db
      .prepare("SELECT * FROM appointments WHERE id = ?")
      .bind(id.toLowerCase())
      .first<AppointmentRow>();
    return row === null ? null : appointment(row);
  }

  /** Store a booked appointment; false when its slot was booked meanwhile (the unique index says so). */
  async book(booked: AppointmentT): Promise<boolean> {
    try {
      await this.db
        .prepare(
          `INSERT INTO appointments (id, provider_id, patient_name, patient_email, starts_at, ends_at,
             status, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .bind(
          booked.id,
          booked.providerId,
          booked.patientName,
          booked.patientEmail,
          booked.startsAt,
          booked.endsAt,
          booked.status,
          booked.notes,
          booked.createdAt,
          booked.updatedAt,
        )
        .run();
      return true;
    } catch (error) {
      if (String(error).includes("UNIQUE constraint failed")) return false;
      throw error;
    }
  }

  /** Cancel a booked appointment; null when it is not booked (any more). */
  async cancel(id: string, at: string): Promise<AppointmentT | null> {
    const row = await this.db
      .prepare("UPDATE appointments SET status = 'cancelled', updated_at = ? WHERE id = ? AND status = 'booked' RETURNING *")
      .bind(at, id.toLowerCase())
      .first<AppointmentRow>();
    return row === null ? null : appointment(row);
  }
}
