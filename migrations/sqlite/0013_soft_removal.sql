-- Soft removal of phone-book records a synchronised source (iTop, LDAP) no longer holds: the
-- row stays (visible by id and in the lists, with its history's links intact), `removed_at`
-- (Unix ms) says since when, and the in-memory phone book leaves it out of identification and
-- search. NULL is a record in use; a sync that finds the record again sets it back to NULL.

ALTER TABLE organizations ADD COLUMN removed_at BIGINT;
ALTER TABLE contacts ADD COLUMN removed_at BIGINT;

-- `GET /api/contacts?removed=true` pages the removed records in id order.
CREATE INDEX organizations_removed ON organizations (id) WHERE removed_at IS NOT NULL;
CREATE INDEX contacts_removed ON contacts (id) WHERE removed_at IS NOT NULL;
