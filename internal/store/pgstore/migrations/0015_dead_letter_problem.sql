-- Why a dead letter was refused, and why its last re-run failed, as
-- messages in the catalogue (i18n.Message.Encode), so that a reader sees
-- them in their language; error and retry_error keep the English, for
-- programs and for letters stored before, which have no message ('').
ALTER TABLE dead_letters ADD COLUMN problem text NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN retry_problem text NOT NULL DEFAULT '';
