-- The table's columns chosen with a search, comma-separated in the
-- table's order; '' opens it with the person's own choice.
ALTER TABLE saved_searches ADD COLUMN table_columns TEXT NOT NULL DEFAULT '';
