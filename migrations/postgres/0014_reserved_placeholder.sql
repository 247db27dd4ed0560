-- Placeholder on the relations branch only: 0014 belongs to the unread helper's
-- branch, whose file replaces this one when the branches are merged (the
-- loader wants numbers without gaps). Delete this file on merge.
SELECT 1;
