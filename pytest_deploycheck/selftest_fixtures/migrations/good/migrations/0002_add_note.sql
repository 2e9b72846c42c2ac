-- An additive change: a nullable column breaks no deployed code.
ALTER TABLE items ADD COLUMN note TEXT;
