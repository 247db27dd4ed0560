-- The roles that may use a custom emoji (issue 14), Discord's emoji
-- "roles": none means everyone may. A row goes with its emoji and with
-- its role.
CREATE TABLE emoji_roles (
	emoji_id BIGINT NOT NULL REFERENCES emojis (id) ON DELETE CASCADE,
	role_id  BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
	PRIMARY KEY (emoji_id, role_id)
);
-- A role's deletion finds its rows.
CREATE INDEX emoji_roles_role ON emoji_roles (role_id);
