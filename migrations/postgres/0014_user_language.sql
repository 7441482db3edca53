-- Each user's language for the screens (web/lang/CODE.json); NULL: what the browser asks for.
ALTER TABLE users ADD COLUMN language TEXT;
