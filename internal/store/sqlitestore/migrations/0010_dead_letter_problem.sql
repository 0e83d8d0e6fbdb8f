-- Why a dead letter was refused, as a message in the catalogue
-- (i18n.Message.Encode), so that a reader sees it in their language;
-- error keeps the English, for programs and for letters stored before,
-- which have no message ('').
ALTER TABLE dead_letters ADD COLUMN problem TEXT NOT NULL DEFAULT '';
