-- Instance administration (issue 13): who administers this homeserver, and
-- the rules by which it federates with other servers: "block" refuses a
-- server (its requests, and anything sent to it); "allow" lists a server
-- that may federate when the homeserver runs in allow-list mode.
CREATE TABLE instance_admins (
	user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	granted_at INTEGER NOT NULL
);

CREATE TABLE federation_rules (
	server     TEXT    PRIMARY KEY,
	rule       TEXT    NOT NULL CHECK (rule IN ('block', 'allow')),
	created_at INTEGER NOT NULL
);
