-- The scope of a federated ID: the replica (the local guild, or the local
-- DM channel) whose object it names, or 0 for a user, who belongs to no
-- replica. An origin's event for one replica may name only objects of that
-- replica and users (spec/federation.md §10): the scope is what lets the
-- replica applier check that with the lookup it makes anyway.
ALTER TABLE federated_ids ADD COLUMN scope BIGINT NOT NULL DEFAULT 0;

-- Existing rows take the scope of the object they name. A row whose object
-- is gone (deleted, or never stored) keeps 0: it names nothing a write could
-- reach, and the applier checks every write's target in its own table.
UPDATE federated_ids SET scope = local_id WHERE local_id IN (SELECT id FROM guilds);
UPDATE federated_ids f SET scope = COALESCE(c.guild_id, c.id) FROM channels c WHERE c.id = f.local_id;
UPDATE federated_ids f SET scope = r.guild_id FROM roles r WHERE r.id = f.local_id;
UPDATE federated_ids f SET scope = e.guild_id FROM emojis e WHERE e.id = f.local_id;
UPDATE federated_ids f SET scope = COALESCE(c.guild_id, c.id)
	FROM messages m JOIN channels c ON c.id = m.channel_id WHERE m.id = f.local_id;
UPDATE federated_ids f SET scope = COALESCE(c.guild_id, c.id)
	FROM attachments a JOIN channels c ON c.id = a.channel_id WHERE a.id = f.local_id;
