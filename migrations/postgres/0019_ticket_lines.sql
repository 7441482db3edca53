-- Support lines and categories. A ticket is worked on line 1, 2 or 3 (escalating moves it one
-- line up) and carries a category key from `[tickets] categories`; tickets stored before this
-- migration are on line 1 in the category 'information'. The ticket's history (ticket_notes)
-- tells a note from an escalation: an escalation's body is its reason and `line` the line it
-- reached. The SLA report groups a period's tickets by category and line.
ALTER TABLE tickets ADD COLUMN line BIGINT NOT NULL DEFAULT 1 CHECK (line BETWEEN 1 AND 3);
ALTER TABLE tickets ADD COLUMN category TEXT NOT NULL DEFAULT 'information';

ALTER TABLE ticket_notes ADD COLUMN kind TEXT NOT NULL DEFAULT 'note' CHECK (kind IN ('note', 'escalation'));
ALTER TABLE ticket_notes ADD COLUMN line BIGINT;
