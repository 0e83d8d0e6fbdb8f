-- An organisation can be disabled (and enabled again): it keeps its data
-- and history and events are still tagged with it, but it is sent no
-- notifications and its portal accounts cannot sign in.
ALTER TABLE organisations ADD COLUMN disabled boolean NOT NULL DEFAULT false;
