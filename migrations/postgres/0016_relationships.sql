-- Relationships (issue 13): how one of this server's users stands towards
-- another user, local or remote. A row is one side's view: a friendship
-- of two local users is two rows (type 1 each way), a pending request is
-- an outgoing row (4) for the one who asked and an incoming row (3) for
-- the other, and a block (2) is the blocker's row alone. Only this
-- server's users have rows: a remote user's view lives on their own
-- homeserver.
CREATE TABLE relationships (
	user_id  BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	other_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	-- Discord's relationship types: 1 friend, 2 blocked, 3 incoming, 4 outgoing.
	type     INTEGER NOT NULL CHECK (type BETWEEN 1 AND 4),
	-- Unix milliseconds: when the row took its type.
	since    BIGINT  NOT NULL,
	PRIMARY KEY (user_id, other_id),
	CHECK (user_id <> other_id)
);
-- Who relates to a user (the other side of a friendship or request).
CREATE INDEX relationships_other ON relationships (other_id);
