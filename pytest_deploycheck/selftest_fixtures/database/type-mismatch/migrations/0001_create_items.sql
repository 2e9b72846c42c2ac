-- Known-bad for the database family: quantity is stored as TEXT, but the spec's Item says
-- integer (database-type).
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    quantity TEXT NOT NULL DEFAULT '0',
    note TEXT
);
