/**
 * The Worker's request and response schemas, in Zod. They mirror the components of
 * `openapi.yaml`; the gate's `models` family compares Zod's own JSON Schema export of them
 * (`z.toJSONSchema`, written by scripts/export-zod-schemas.mjs) with the spec.
 */
import { z } from "zod";

/** Text a D1 column can store as it came: well-formed UTF-16, no NUL character. */
const text = () =>
  z.string().refine((value) => value.isWellFormed() && !value.includes("\0"), {
    message: "must be well-formed text without NUL characters",
  });

const clockTime = () => z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/);

export const Health = z.strictObject({
  status: z.enum(["ok", "unavailable"]),
  database: z.enum(["ok", "unavailable"]),
  version: z.string().min(1),
});

export const Provider = z.strictObject({
  id: z.uuid(),
  name: z.string().min(1).max(100),
  specialty: z.string().min(1).max(60),
  opensAt: clockTime(),
  closesAt: clockTime(),
  slotMinutes: z.int().min(5).max(240),
  createdAt: z.iso.datetime(),
});

const page = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    items: z.array(item),
    total: z.int().min(0),
    limit: z.int().min(1).max(100),
    offset: z.int().min(0),
  });

export const ProviderList = page(Provider);

export const Slot = z.strictObject({
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
});

export const SlotList = z.strictObject({
  providerId: z.uuid(),
  date: z.iso.date(),
  items: z.array(Slot),
});

export const AppointmentStatus = z.enum(["booked", "cancelled"]);

export const AppointmentCreate = z.strictObject({
  providerId: z.uuid(),
  patientName: text().min(1).max(100),
  patientEmail: z.email().max(254),
  startsAt: z.iso.datetime({ offset: true }),
  notes: text().max(500).default(""),
});

export const Appointment = z.strictObject({
  id: z.uuid(),
  providerId: z.uuid(),
  patientName: z.string().min(1).max(100),
  patientEmail: z.email().max(254),
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
  status: AppointmentStatus,
  notes: z.string().max(500),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const AppointmentList = page(Appointment);

export const ValidationIssue = z.strictObject({
  location: z.enum(["body", "path", "query"]),
  field: z.string(),
  detail: z.string(),
});

export const Problem = z.strictObject({
  type: z.url(),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string(),
  errors: z.array(ValidationIssue).optional(),
});

// -- parameters: query and path values arrive as text -------------------------------------

/** A decimal integer as sent in a query string: no sign games, blanks or exponents. */
const integerText = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?(0|[1-9][0-9]*)$/, "must be a whole number")
    .transform(Number)
    .pipe(z.int().min(min).max(max));

export const Paging = {
  limit: integerText(1, 100).default(20),
  offset: integerText(0, 1_000_000).default(0),
};

export const ProviderQuery = z.object({
  specialty: text().min(1).max(60).optional(),
  ...Paging,
});

export const AppointmentQuery = z.object({
  providerId: z.uuid().optional(),
  status: AppointmentStatus.optional(),
  ...Paging,
});

export const SlotQuery = z.object({ date: z.iso.date() });

export const ProviderPath = z.object({ providerId: z.uuid() });
export const AppointmentPath = z.object({ appointmentId: z.uuid() });

/** The component schemas of openapi.yaml, by name: what the export script writes out. */
export const components = {
  Health,
  Provider,
  ProviderList,
  Slot,
  SlotList,
  AppointmentStatus,
  AppointmentCreate,
  Appointment,
  AppointmentList,
  Problem,
  ValidationIssue,
} as const;

export type ProviderT = z.infer<typeof Provider>;
export type AppointmentT = z.infer<typeof Appointment>;
export type AppointmentCreateT = z.infer<typeof AppointmentCreate>;
export type ProblemT = z.infer<typeof Problem>;
export type ValidationIssueT = z.infer<typeof ValidationIssue>;
