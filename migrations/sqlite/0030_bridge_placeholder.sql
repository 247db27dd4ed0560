-- Placeholder on branch h-bridge only: migrations must be contiguous and
-- the bridge was given 0031. Drop this file at merge (0029 and 0030 belong
-- to other branches).
SELECT 1;
