-- Which act an event of a log carries out (issue 11): an origin names it
-- to its peers with the event, so that the server of the acting user can
-- tell its users' own writes from writes an origin made up in their name.
-- '' for an event no peer's act caused.
ALTER TABLE events ADD COLUMN act TEXT NOT NULL DEFAULT '';

-- Acts this server sent for its users to the origins of its replicas,
-- kept until the replica holds their events (or until expires), so that
-- an event attributing a write to one of its users is accepted only when
-- that user asked for it. Rows are made only for this server's own users'
-- acts, so no peer controls how many there are.
CREATE TABLE sent_acts (
	-- '<snowflake>@<this server>'.
	id         TEXT    PRIMARY KEY,
	-- The replica's log: a guild or DM channel.
	log_id     BIGINT  NOT NULL,
	user_id    BIGINT  NOT NULL,
	action     TEXT    NOT NULL,
	-- The message acted on (local ID), 0 for none.
	message_id BIGINT  NOT NULL,
	-- Bits of the kinds of event already attributed to the act: each kind
	-- once.
	used       INTEGER NOT NULL DEFAULT 0,
	-- Unix milliseconds.
	expires    BIGINT  NOT NULL
);
CREATE INDEX sent_acts_expires ON sent_acts (expires);
