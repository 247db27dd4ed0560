-- Acts an origin has accepted from its peers, by act ID, so that the same
-- act received twice is applied once: a repeat is answered from its row.
-- A row is made only for an act that passed every check and is being
-- carried out (seq is NULL until it is done, when seq and result hold the
-- answer), and is removed if the act is then refused, so a peer makes the
-- origin keep rows only for writes it was allowed to make. Rows are
-- pruned once their deadline is well past: by then a repeat is refused as
-- expired anyway.
CREATE TABLE act_receipts (
	-- '<snowflake>@<signer>', the signer's own.
	id       TEXT   PRIMARY KEY,
	peer     TEXT   NOT NULL,
	-- The guild's or DM channel's log the act is about.
	log_id   INTEGER NOT NULL,
	-- SHA-256 (hex) of the act as signed: a repeat must be the same act.
	digest   TEXT   NOT NULL,
	-- Unix milliseconds.
	deadline INTEGER NOT NULL,
	seq      INTEGER,
	result   TEXT
);
CREATE INDEX act_receipts_deadline ON act_receipts (deadline);
