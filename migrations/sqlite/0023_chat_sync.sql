-- Where the Matrix bot stopped reading its room: the sync's next_batch token, stored after the
-- commands of each answer were carried out, so a restart reads on from there and does not
-- carry out an old command again. One row per bot account and room.
CREATE TABLE chat_sync (
    account TEXT NOT NULL,
    room TEXT NOT NULL,
    next_batch TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account, room)
);
