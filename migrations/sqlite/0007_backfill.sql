-- Channels of a replica with history from before the replica began: the
-- origin's newest message at that moment (its snowflake there). Older
-- pages are fetched from the origin, below it, when someone reads back;
-- the row goes once the origin has nothing older.
CREATE TABLE replica_history (
	channel_id INTEGER PRIMARY KEY,
	floor      INTEGER NOT NULL
);
