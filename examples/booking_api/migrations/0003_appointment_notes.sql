-- Patients can leave a note for the provider (added after the first release).
ALTER TABLE appointments ADD COLUMN notes TEXT NOT NULL DEFAULT '';
