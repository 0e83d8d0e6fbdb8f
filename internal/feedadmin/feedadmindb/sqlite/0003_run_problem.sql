-- Why a run's input failed, as a message in the catalogue
-- (i18n.Message.Encode), so that a reader sees it in their language;
-- error keeps the English, for programs and for runs recorded before,
-- which have no message (''). A run's own failure (FinishFeedRun) has
-- none and clears it.
ALTER TABLE feed_runs ADD COLUMN problem TEXT NOT NULL DEFAULT '';
