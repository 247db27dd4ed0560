-- Gateway sessions recorded as they live (spec/gateway.md, "Resuming on
-- any process"): a RESUME that reaches any process sharing the database
-- rebuilds the session from its row and replays from the event log what
-- its client has not had. A process that dies loses no session.

CREATE TABLE gateway_live (
	-- The session_id its client resumes with.
	id          TEXT PRIMARY KEY,
	user_id     BIGINT NOT NULL,
	-- The process that serves the session (a random token per process);
	-- only it writes the row and the session's marks, and a RESUME
	-- elsewhere takes them over.
	owner       TEXT NOT NULL,
	-- JSON: sign-in, intents, guilds, channels told of, presence. Written
	-- when it changes. (meta and place are NULL only in a write that
	-- keeps the row's: a column that is NOT NULL would refuse that write
	-- before its ON CONFLICT could keep them.)
	meta        TEXT,
	-- JSON: the seq from which the client may resume, and the position
	-- in each log once it has that seq. Written when it moves (rarely:
	-- the marks carry the place in between).
	place       TEXT,
	-- Unix milliseconds; detached_at is 0 while a connection is attached.
	detached_at BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
CREATE INDEX gateway_live_owner ON gateway_live (owner);

-- A session's dispatches since its place that came from a log: seqs
-- first..last came from event pos of log log_id. Appended (small rows)
-- before the dispatches reach the client; those the client can no
-- longer lack are deleted as the place moves on.
CREATE TABLE gateway_marks (
	session_id TEXT NOT NULL,
	first      BIGINT NOT NULL,
	last       BIGINT NOT NULL,
	log_id     BIGINT NOT NULL,
	pos        BIGINT NOT NULL,
	PRIMARY KEY (session_id, first)
);

-- The processes that own live sessions, and when each was last seen: the
-- sessions of a process not seen for the resume window have expired.
CREATE TABLE gateway_owners (
	owner   TEXT PRIMARY KEY,
	seen_at BIGINT NOT NULL
);

-- The state a stopping process used to save for the next one (0008): the
-- records above replace it. Sessions saved by a process older than this
-- one are not resumed: their clients identify again, once.
DROP TABLE gateway_sessions;
DROP TABLE gateway_payloads;
DROP TABLE gateway_cursors;
