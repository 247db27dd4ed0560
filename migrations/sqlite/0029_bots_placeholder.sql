-- Placeholder: 0029 belongs to another branch (the lead renumbers at merge);
-- it keeps this branch's migrations contiguous and does nothing.
SELECT 1;
