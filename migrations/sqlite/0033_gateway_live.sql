-- Gateway sessions recorded as they live (spec/gateway.md, "Resuming on
-- any process"): a RESUME that reaches any process sharing the database
-- rebuilds the session from its row and replays from the event log what
-- its client has not had. A process that dies loses no session.

CREATE TABLE gateway_live (
	-- The session_id its client resumes with.
	id          TEXT PRIMARY KEY,
	user_id     INTEGER NOT NULL,
	-- The process that serves the session (a random token per process);
	-- only it writes the row, and a RESUME elsewhere takes it over.
	owner       TEXT NOT NULL,
	-- JSON: sign-in, intents, guilds, channels told of, presence. Written
	-- when it changes; NULL until first written.
	meta        TEXT,
	-- JSON: the session's place in each log, as of a sequence number, and
	-- the dispatches since then that came from the logs (which log event
	-- each seq range came from). Written before those dispatches reach
	-- the client.
	place       TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	-- Unix milliseconds; detached_at is 0 while a connection is attached.
	detached_at INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX gateway_live_owner ON gateway_live (owner);

-- The processes that own live sessions, and when each was last seen: the
-- sessions of a process not seen for the resume window have expired.
CREATE TABLE gateway_owners (
	owner   TEXT PRIMARY KEY,
	seen_at INTEGER NOT NULL
);
