-- Known-bad: numbered 0003 after 0001; 0002 is missing (migration-numbering-gap).
ALTER TABLE items ADD COLUMN note TEXT;
