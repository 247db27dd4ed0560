-- Placeholder on branch h-fed only, so that its migration 0034 applies
-- in order; the numbers belong to other branches: drop this file at merge.
SELECT 1;
