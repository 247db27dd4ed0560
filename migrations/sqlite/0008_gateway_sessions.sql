-- The gateway's state across a restart: a stopping process saves its
-- resumable sessions and how far it had routed each log; the next one
-- takes them on start, so that clients RESUME instead of identifying again.

CREATE TABLE gateway_sessions (
	id       TEXT PRIMARY KEY,
	user_id  INTEGER NOT NULL,
	-- The gateway's own record of the session (JSON): sequence, intents,
	-- guilds, channels it was told of, presence, and its recent
	-- dispatches as references into gateway_payloads.
	state    TEXT NOT NULL,
	saved_at INTEGER NOT NULL
);

-- Dispatch payloads, each saved once however many sessions it went to.
CREATE TABLE gateway_payloads (
	id   INTEGER PRIMARY KEY,
	body TEXT NOT NULL
);

CREATE TABLE gateway_cursors (
	log_id INTEGER PRIMARY KEY,
	seq    INTEGER NOT NULL
);
