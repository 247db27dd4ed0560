-- Files of another homeserver's messages: a replica stores the attachment
-- without its bytes (hash '') and where its origin serves it, and fetches
-- and keeps the bytes the first time someone here asks for them.
ALTER TABLE attachments ADD COLUMN origin_path TEXT NOT NULL DEFAULT '';
