-- The running service re-reads the phone book's records changed since its last look every
-- 30 s (`records_changed_since`); without these it scans both tables each time.

CREATE INDEX organizations_updated_at ON organizations (updated_at);
CREATE INDEX contacts_updated_at ON contacts (updated_at);
