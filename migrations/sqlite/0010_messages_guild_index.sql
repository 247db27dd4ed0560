-- Search without text (filters only: author, channels, has, dates) walks a
-- guild's messages newest first and stops at the page's end, instead of
-- gathering every match of the guild into a temporary b-tree to sort it.
CREATE INDEX messages_guild ON messages (guild_id, id);
