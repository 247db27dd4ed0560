-- Leases let several homeserver processes share one database
-- (spec/scaling.md). A lease is a claim that expires unless its holder
-- renews it: a process that dies (SIGKILL, a lost machine) gives its
-- leases up by not renewing them, and another takes them once they have
-- expired. Times are Unix milliseconds of the holders' clocks, which are
-- assumed to agree within a small part of a lease's life (NTP).
--
-- leases are the named ones: one federation sender per peer
-- ("federation/<peer>"), the sweeps and periodic jobs ("maintenance", ...).
CREATE TABLE leases (
	name       TEXT   PRIMARY KEY,
	holder     TEXT   NOT NULL,
	expires_at BIGINT NOT NULL,
	renewed_at BIGINT NOT NULL
);

-- node_leases are the snowflake nodes (worker and process bits, 0 to
-- 1022; 1023 is kept for backfilled IDs) the running processes use, so
-- that two never hand out the same ID.
CREATE TABLE node_leases (
	node       INTEGER PRIMARY KEY,
	holder     TEXT    NOT NULL,
	expires_at BIGINT  NOT NULL,
	renewed_at BIGINT  NOT NULL
);
