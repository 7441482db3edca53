-- An internal extension has no E.164 form: calls from one are filed under the number as the
-- switch gave it, and `/api/calls?caller_number=` (and tickets') read them by that column.
CREATE INDEX calls_caller_number ON calls (caller_number, started_at);
