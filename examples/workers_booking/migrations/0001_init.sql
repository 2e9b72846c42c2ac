-- Providers and their appointments. Table and column names are the snake_case of the
-- component schemas (Provider -> providers, slotMinutes -> slot_minutes); NOT NULL matches
-- `required`, CHECK constraints match enums. Times are UTC RFC 3339 text of fixed width
-- (2030-01-07T09:00:00Z), so they sort in time order.
CREATE TABLE providers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    specialty TEXT NOT NULL,
    opens_at TEXT NOT NULL CHECK (opens_at GLOB '[0-2][0-9]:[0-5][0-9]' AND opens_at < '24:00'),
    closes_at TEXT NOT NULL CHECK (closes_at GLOB '[0-2][0-9]:[0-5][0-9]' AND closes_at < '24:00'),
    slot_minutes INTEGER NOT NULL CHECK (slot_minutes BETWEEN 5 AND 240),
    created_at TEXT NOT NULL
);

CREATE INDEX providers_by_specialty ON providers (specialty, name);

CREATE TABLE appointments (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    patient_name TEXT NOT NULL,
    patient_email TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled')),
    notes TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A provider's slot holds at most one booked appointment: D1, not only the code, refuses a
-- double booking, so two concurrent requests cannot both win. Cancelled ones free the slot.
CREATE UNIQUE INDEX appointments_one_booking_per_slot
    ON appointments (provider_id, starts_at)
    WHERE status = 'booked';
CREATE INDEX appointments_by_start ON appointments (starts_at);
