-- Known-bad: the deployed code still reads note (migration-drop-column).
ALTER TABLE items DROP COLUMN note;
