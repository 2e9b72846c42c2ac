-- The items of the self-test service, as components.schemas.Item describes them.
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    quantity INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0)
);
