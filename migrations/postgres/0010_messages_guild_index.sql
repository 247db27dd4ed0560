-- Search without text (filters only: author, channels, has, dates) walks a
-- guild's messages newest first and stops at the page's end, instead of
-- gathering and sorting every match of the guild. The channel and author
-- are carried in the index so that both the walk's filters and the capped
-- count of the total are answered from its entries.
CREATE INDEX messages_guild ON messages (guild_id, id) INCLUDE (channel_id, author_id);
