-- The demo data every environment starts with: three providers (the smoke flow books with the
-- first) and one appointment, the spec's example, so reading it by its example id finds it.
INSERT INTO providers (id, name, specialty, opens_at, closes_at, slot_minutes, created_at) VALUES
    ('3f1c2a9e-8b7d-4c6e-9a51-2d4b7e0f6a13', 'Dr. Ada Okafor', 'general-practice', '09:00', '17:00', 30, '2030-01-01T00:00:00Z'),
    ('b7e4d2c1-5a69-4f0e-8c3b-1d2e3f4a5b6c', 'Dr. Sam Ito', 'dentistry', '08:00', '12:00', 20, '2030-01-01T00:00:00Z'),
    ('c9a8b7d6-e5f4-4a3b-9c2d-1e0f9a8b7c6d', 'Dr. Lena Brandt', 'physiotherapy', '13:00', '19:00', 45, '2030-01-01T00:00:00Z');

INSERT INTO appointments (id, provider_id, patient_name, patient_email, starts_at, ends_at, status, notes, created_at, updated_at) VALUES
    ('a8f5f167-0e7c-4d1b-9b3a-5c2e7d9f1b04', '3f1c2a9e-8b7d-4c6e-9a51-2d4b7e0f6a13', 'Grace Hopper', 'grace@example.com',
     '2030-01-07T16:30:00Z', '2030-01-07T17:00:00Z', 'booked', 'Yearly check-up', '2030-01-01T00:00:00Z', '2030-01-01T00:00:00Z');
