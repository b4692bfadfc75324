-- The event store of cqrs-es/sqlite-es, unchanged, plus a global position.
-- sqlite-es recognises a concurrent append only by a primary-key violation (error 1555), so the
-- key stays (aggregate_type, aggregate_id, sequence). The position is a separate column filled
-- by a trigger: SQLite has one writer at a time, so max + 1 inside the appending transaction is
-- the commit order, with no gaps. (The rowid is not used: VACUUM may renumber it.)
CREATE TABLE IF NOT EXISTS events
(
  aggregate_type text                          NOT NULL,
  aggregate_id   text                          NOT NULL,
  sequence       integer CHECK (sequence >= 0) NOT NULL,
  event_type     text                          NOT NULL,
  event_version  text                          NOT NULL,
  payload        text                          NOT NULL,
  metadata       text                          NOT NULL,
  position       integer,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;

CREATE UNIQUE INDEX IF NOT EXISTS events_position ON events (position);

CREATE TRIGGER IF NOT EXISTS events_assign_position AFTER INSERT ON events
BEGIN
  UPDATE events
     SET position = (SELECT coalesce(max(position), 0) + 1 FROM events)
   WHERE rowid = new.rowid;
END;

CREATE TABLE IF NOT EXISTS snapshots
(
  aggregate_type   text                                  NOT NULL,
  aggregate_id     text                                  NOT NULL,
  last_sequence    integer CHECK (last_sequence >= 0)    NOT NULL,
  current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL,
  payload          text                                  NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;

-- How far each projector has read, written in the same transaction as its read-model rows.
CREATE TABLE IF NOT EXISTS projection_checkpoints
(
  name           text    PRIMARY KEY,
  transaction_id integer NOT NULL DEFAULT 0,
  position       integer NOT NULL DEFAULT 0
) STRICT;
