-- Listing appointments by time range (GET /appointments?from=&to=) without a table scan.
CREATE INDEX appointments_by_start ON appointments (starts_at);
