-- A person's export of their data (issue 13) reads all their messages, in
-- every guild and DM, in ID order, a page at a time.
CREATE INDEX messages_by_author ON messages (author_id, id);
