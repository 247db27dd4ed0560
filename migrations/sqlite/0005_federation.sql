-- Federation: the map from global identifiers to local snowflakes, an
-- origin's per-peer delivery cursors into its logs, and a replica's place
-- in the log of the origin it copies.

-- Every object this homeserver knows from another one (a user, a guild, a
-- channel, a role, a message, an emoji...) has a local snowflake; this is
-- where (origin server, ID there) finds it, whatever its kind: snowflakes
-- are unique across kinds on their origin, so the pair names one object.
CREATE TABLE federated_ids (
	origin    TEXT   NOT NULL,
	origin_id TEXT   NOT NULL,
	local_id  INTEGER NOT NULL,
	-- origin_id leads: it is nearly unique, and a batch looks many of
	-- them up for one origin at once.
	PRIMARY KEY (origin_id, origin)
);
CREATE UNIQUE INDEX federated_ids_local ON federated_ids (local_id);

-- An origin delivers each log to each peer that has members in it from
-- the event after seq; the row exists while the peer should receive the
-- log, and moves only when the peer has acknowledged a transaction.
CREATE TABLE delivery_cursors (
	peer   TEXT   NOT NULL,
	log_id INTEGER NOT NULL,
	seq    INTEGER NOT NULL,
	PRIMARY KEY (peer, log_id)
);
CREATE INDEX delivery_cursors_log ON delivery_cursors (log_id);

-- A replica guild (or DM channel) of another homeserver: the origin's log
-- has been applied here up to seq.
CREATE TABLE replicas (
	log_id INTEGER PRIMARY KEY,
	origin TEXT   NOT NULL,
	seq    INTEGER NOT NULL
);
