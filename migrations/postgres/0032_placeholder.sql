-- Placeholder: number 0032 is assigned to another branch of this session.
-- Drop this file when that branch is merged (the runner refuses gaps).
SELECT 1;
