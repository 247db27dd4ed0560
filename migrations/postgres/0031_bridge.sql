-- The Discord bridge's records (spec/bridge.md). A bridge is a homeserver
-- whose local users and guilds mirror Discord's; these tables hold what
-- ties the two together. An ordinary homeserver leaves them empty.
--
-- bridge_ids maps a Discord object (kind, its ID as text) to the local
-- object that mirrors it. The primary key is what makes an import
-- idempotent: a Discord message imported twice finds its row and is not
-- written again, because the row is written in the transaction that
-- appends the message to the log.
CREATE TABLE bridge_ids (
	kind     TEXT    NOT NULL,
	remote   TEXT    NOT NULL,
	local_id BIGINT NOT NULL,
	PRIMARY KEY (kind, remote)
);
CREATE INDEX bridge_ids_local ON bridge_ids (kind, local_id);

-- bridge_state holds the bridge's small named values: links of Discord
-- guilds (requested by `bridge link` from another process, carried out by
-- the running bridge), relay cursors, webhooks per channel.
CREATE TABLE bridge_state (
	key        TEXT    PRIMARY KEY,
	value      TEXT    NOT NULL,
	-- Unix milliseconds.
	updated_at BIGINT NOT NULL
);
