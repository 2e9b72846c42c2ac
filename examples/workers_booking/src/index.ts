/**
 * The Workers booking API: Hono routes, Zod validation, D1 storage. Its contract is
 * openapi.yaml; the Worker follows it, not the other way round.
 */
import { zValidator } from "@hono/zod-validator";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import spec from "../openapi.yaml";
import { Store } from "./db";
import type { Env } from "./env";
import { type Fault, FaultError, parseFaults } from "./faults";
import { conflict, invalid, issues, notFound, problem } from "./problems";
import { instant, slotAt, slotsOf } from "./schedule";
import {
  type AppointmentT,
  AppointmentCreate,
  AppointmentPath,
  AppointmentQuery,
  ProviderPath,
  ProviderQuery,
  SlotQuery,
} from "./schemas";

type App = { Bindings: Env; Variables: { faults: ReadonlySet<Fault>; store: Store } };

const app = new Hono<App>();

app.use(async (c, next) => {
  c.set("faults", parseFaults(c.env.FAULT));
  c.set("store", new Store(c.env.DB));
  await next();
});

/** Validate one part of the request; a failure is a 422 naming every invalid field. */
const valid = <T extends z.ZodType, Target extends "query" | "param" | "json">(target: Target, schema: T) =>
  zValidator(target, schema, (result, c) => {
    if (result.success) return;
    if (target === "json" && (c as Context<App>).get("faults").has("accept_invalid")) {
      return c.json(madeUp(), 201, { Location: "/appointments/00000000-0000-4000-8000-000000000000" });
    }
    const location = target === "json" ? "body" : target === "param" ? "path" : "query";
    return invalid(c, issues(result.error, location));
  });

/** Bodies must be JSON: 415 for another media type, 422 for JSON that does not parse. */
const jsonBody: MiddlewareHandler<App> = async (c, next) => {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    const sent = type === "" ? "no Content-Type" : type.split(";")[0];
    return problem(c, 415, "unsupported-media-type", "Unsupported Media Type", `send the body as application/json, not ${sent}`);
  }
  try {
    await c.req.json(); // Hono keeps the parsed body for the validator
  } catch {
    return invalid(c, [{ location: "body", field: "", detail: "the body is not valid JSON" }]);
  }
  await next();
};

app.get("/health", async (c) => {
  const version = c.env.SERVICE_VERSION ?? "1.0.0";
  const database = (await c.get("store").ping()) ? "ok" : "unavailable";
  if (c.get("faults").has("unhealthy") || database !== "ok") {
    return c.json({ status: "unavailable", database, version }, 503);
  }
  return c.json({ status: "ok", database, version }, 200);
});

app.get("/providers", valid("query", ProviderQuery), async (c) => {
  const { specialty, limit, offset } = c.req.valid("query");
  const page = await c.get("store").providers(specialty, limit, offset);
  if (c.get("faults").has("bad_response")) {
    return c.json({ ...page, items: page.items.map((p) => ({ ...p, slotMinutes: String(p.slotMinutes) })), limit, offset });
  }
  return c.json({ ...page, limit, offset }, 200);
});

app.get("/providers/:providerId", valid("param", ProviderPath), async (c) => {
  const { providerId } = c.req.valid("param");
  const provider = await c.get("store").provider(providerId);
  return provider === null ? notFound(c, "provider", providerId) : c.json(provider, 200);
});

app.get("/providers/:providerId/slots", valid("param", ProviderPath), valid("query", SlotQuery), async (c) => {
  const { providerId } = c.req.valid("param");
  const { date } = c.req.valid("query");
  if (c.get("faults").has("slow")) {
    await new Promise((resolve) => setTimeout(resolve, Number(c.env.SLOW_MS ?? "1500")));
  }
  const store = c.get("store");
  const provider = await store.provider(providerId);
  if (provider === null) return notFound(c, "provider", providerId);
  const booked = await store.bookedStarts(provider.id, date);
  const items = slotsOf(provider, date)
    .filter(([startsAt]) => !booked.has(startsAt))
    .map(([startsAt, endsAt]) => ({ startsAt, endsAt }));
  return c.json({ providerId: provider.id, date, items }, 200);
});

app.get("/appointments", valid("query", AppointmentQuery), async (c) => {
  if (c.get("faults").has("server_error")) {
    throw new Error("the server_error fault is on");
  }
  const { providerId, status, limit, offset } = c.req.valid("query");
  const page = await c.get("store").appointments(providerId, status, limit, offset);
  return c.json({ ...page, limit, offset }, 200);
});

app.post("/appointments", jsonBody, valid("json", AppointmentCreate), async (c) => {
  const body = c.req.valid("json");
  const store = c.get("store");
  const provider = await store.provider(body.providerId);
  if (provider === null) return notFound(c, "provider", body.providerId);
  const at = instant(body.startsAt);
  const slot = at === null ? null : slotAt(provider, at);
  if (slot === null) {
    return conflict(c, "no-such-slot", "No such slot", `no slot of provider ${provider.id} starts at ${body.startsAt}`);
  }
  const now = new Date().toISOString();
  const booked: AppointmentT = {
    id: crypto.randomUUID(),
    providerId: provider.id,
    patientName: body.patientName,
    patientEmail: body.patientEmail,
    startsAt: slot[0],
    endsAt: slot[1],
    status: "booked",
    notes: body.notes,
    createdAt: now,
    updatedAt: now,
  };
  if (!(await store.book(booked))) {
    return conflict(c, "slot-unavailable", "Slot unavailable", `the slot at ${slot[0]} is booked already`);
  }
  return c.json(booked, 201, { Location: `/appointments/${booked.id}` });
});

app.get("/appointments/:appointmentId", valid("param", AppointmentPath), async (c) => {
  const { appointmentId } = c.req.valid("param");
  const found = await c.get("store").appointment(appointmentId);
  return found === null ? notFound(c, "appointment", appointmentId) : c.json(found, 200);
});

app.post("/appointments/:appointmentId/cancel", valid("param", AppointmentPath), async (c) => {
  const { appointmentId } = c.req.valid("param");
  const store = c.get("store");
  const cancelled = await store.cancel(appointmentId, new Date().toISOString());
  if (cancelled !== null) return c.json(cancelled, 200);
  const found = await store.appointment(appointmentId);
  if (found === null) return notFound(c, "appointment", appointmentId);
  return conflict(c, "already-cancelled", "Already cancelled", `appointment ${found.id} is cancelled already`);
});

app.get("/openapi.yaml", (c) => c.body(spec, 200, { "content-type": "application/yaml" }));

app.notFound((c) => problem(c, 404, "not-found", "Not Found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));

app.onError((error, c) => {
  if (error instanceof HTTPException && error.status < 500) {
    return problem(c, error.status, "http", error.message || "Bad Request", error.message || "the request is malformed");
  }
  if (error instanceof FaultError) {
    return problem(c, 500, "misconfigured", "Misconfigured", error.message);
  }
  console.error(error);
  return problem(c, 500, "internal", "Internal Server Error", "the Worker failed; see its log");
});

/** What the accept_invalid fault answers: a well-formed appointment that was never stored. */
function madeUp(): AppointmentT {
  const now = new Date().toISOString();
  return {
    id: "00000000-0000-4000-8000-000000000000",
    providerId: "3f1c2a9e-8b7d-4c6e-9a51-2d4b7e0f6a13",
    patientName: "Nobody",
    patientEmail: "nobody@example.com",
    startsAt: "2030-01-07T09:00:00Z",
    endsAt: "2030-01-07T09:30:00Z",
    status: "booked",
    notes: "",
    createdAt: now,
    updatedAt: now,
  };
}

export default app;
