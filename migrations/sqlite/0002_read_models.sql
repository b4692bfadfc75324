-- Read models: projections of the event log, rebuilt by `packet-run replay`.
-- Identical for SQLite and PostgreSQL; times are ISO-8601 UTC text as the API serves them.
CREATE TABLE terminals
(
  id         BIGINT PRIMARY KEY,
  type       TEXT   NOT NULL,
  status     TEXT   NOT NULL,
  payload    TEXT,
  run_id     TEXT,
  created_at TEXT   NOT NULL,
  updated_at TEXT   NOT NULL
);
CREATE INDEX terminals_run ON terminals (run_id);

CREATE TABLE terminal_connections
(
  from_id BIGINT NOT NULL,
  slot    BIGINT NOT NULL,
  to_id   BIGINT NOT NULL,
  PRIMARY KEY (from_id, slot)
);
CREATE INDEX terminal_connections_to ON terminal_connections (to_id);

CREATE TABLE presences
(
  id           BIGINT PRIMARY KEY,
  terminal_id  BIGINT NOT NULL,
  websocket_id TEXT   NOT NULL UNIQUE,
  ip           TEXT   NOT NULL,
  connected_at TEXT   NOT NULL,
  last_seen_at TEXT   NOT NULL
);
CREATE INDEX presences_terminal ON presences (terminal_id);

CREATE TABLE runs
(
  id                     TEXT    PRIMARY KEY,
  nfc_id                 TEXT    NOT NULL,
  url                    TEXT    NOT NULL,
  destination_ip         TEXT,
  terminal_id            BIGINT,
  server_id              BIGINT  NOT NULL,
  is_traceroute_finished BOOLEAN NOT NULL,
  traceroute_error       TEXT,
  packet_type            TEXT    NOT NULL,
  current_hop_index      BIGINT  NOT NULL,
  image_path             TEXT,
  screenshot_error       TEXT,
  created_position       BIGINT  NOT NULL,
  created_at             TEXT    NOT NULL,
  updated_at             TEXT    NOT NULL
);
CREATE INDEX runs_nfc ON runs (nfc_id, created_position);
CREATE INDEX runs_created ON runs (created_position);

CREATE TABLE run_hops
(
  id                         BIGINT  PRIMARY KEY,
  run_id                     TEXT    NOT NULL,
  hop                        BIGINT  NOT NULL,
  terminal_id                BIGINT  NOT NULL,
  type                       TEXT    NOT NULL,
  status                     TEXT    NOT NULL,
  address_ip                 TEXT,
  may_perform_transformation BOOLEAN NOT NULL,
  created_at                 TEXT    NOT NULL,
  updated_at                 TEXT    NOT NULL
);
CREATE INDEX run_hops_run ON run_hops (run_id, hop);

CREATE TABLE traceroute_hops
(
  id         BIGINT PRIMARY KEY,
  run_id     TEXT   NOT NULL,
  hop        BIGINT NOT NULL,
  address_ip TEXT,
  created_at TEXT   NOT NULL,
  updated_at TEXT   NOT NULL,
  UNIQUE (run_id, hop)
);

CREATE TABLE addresses
(
  ip                TEXT    PRIMARY KEY,
  info              TEXT,
  is_in_alt_network BOOLEAN NOT NULL,
  is_internal_ip    BOOLEAN NOT NULL,
  metadata_error    TEXT,
  created_at        TEXT    NOT NULL,
  updated_at        TEXT    NOT NULL
);
