-- The messages this server's own users wrote in logs of other servers, by
-- the origin's ID (issue 11): a history page (spec/federation.md §9.5) may
-- say that one of this server's users wrote a message only when this
-- server saw that user's act make it, as a live batch must name the act.
-- Unlike sent_acts, rows stay when the replica is dropped, so that a
-- replica joined again backfills its users' old messages. Rows are made
-- only for this server's own users' writes, so no peer controls how many
-- there are.
CREATE TABLE authored_messages (
	origin    TEXT    NOT NULL,
	origin_id TEXT    NOT NULL,
	user_id   INTEGER  NOT NULL,
	PRIMARY KEY (origin_id, origin)
);

-- The messages of this server's users that its replicas hold now were
-- accepted under the rules of their time.
INSERT INTO authored_messages (origin, origin_id, user_id)
SELECT f.origin, f.origin_id, m.author_id
FROM messages m
JOIN federated_ids f ON f.local_id = m.id
JOIN users u ON u.id = m.author_id AND u.origin IS NULL
ON CONFLICT DO NOTHING;
