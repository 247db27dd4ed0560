-- Members who joined through a temporary invite (issue 14): they are
-- removed when their last gateway session disconnects, unless they were
-- given a role meanwhile. A row goes with its member (ON DELETE CASCADE),
-- so one who leaves and joins again another way is not temporary.
CREATE TABLE temporary_members (
	guild_id BIGINT NOT NULL,
	user_id  BIGINT NOT NULL,
	PRIMARY KEY (guild_id, user_id),
	FOREIGN KEY (guild_id, user_id) REFERENCES members (guild_id, user_id) ON DELETE CASCADE
);
-- Looked up by user when their last session ends.
CREATE INDEX temporary_members_user ON temporary_members (user_id);
