-- Why a feed's last run failed, as a message in the catalogue
-- (i18n.Message.Encode), so that a reader sees it in their language;
-- last_error keeps the English, for programs and for runs recorded
-- before, which have no message (''). Written with last_error, always.
ALTER TABLE feeds ADD COLUMN last_problem TEXT NOT NULL DEFAULT '';
