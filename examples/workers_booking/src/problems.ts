/** RFC 9457 problem documents: the body of every error answer. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { ProblemT, ValidationIssueT } from "./schemas";

const TYPES = "https://booking.example/problems/";

export function problem(
  c: Context,
  status: ContentfulStatusCode,
  kind: string,
  title: string,
  detail: string,
  errors?: ValidationIssueT[],
): Response {
  const body: ProblemT = { type: TYPES + kind, title, status, detail };
  if (errors !== undefined) body.errors = errors;
  return c.body(JSON.stringify(body), status, { "content-type": "application/problem+json" });
}

export const notFound = (c: Context, what: string, id: string) =>
  problem(c, 404, "not-found", "Not Found", `no ${what} has id ${id}`);

export const conflict = (c: Context, kind: string, title: string, detail: string) =>
  problem(c, 409, kind, title, detail);

type Location = ValidationIssueT["location"];

/** Zod's issues as the spec's ValidationIssue list: body fields as JSON Pointers. */
export function issues(error: { issues: readonly z.core.$ZodIssue[] }, location: Location): ValidationIssueT[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((part) => String(part).replace(/~/g, "~0").replace(/\//g, "~1"));
    const field =
      location === "body" ? (path.length ? `/${path.join("/")}` : "") : String(issue.path[0] ?? "");
    return { location, field, detail: issue.message };
  });
}

export function invalid(c: Context, found: ValidationIssueT[]): Response {
  const count = found.length === 1 ? "1 invalid field" : `${found.length} invalid fields`;
  return problem(c, 422, "validation", "Invalid request", count, found);
}
