-- The table speeding-events.sql-sink.yaml writes; its golden content is
-- examples/car-sensors/expected/speeding-events.jsonl, one row per line.
CREATE TABLE IF NOT EXISTS speeding_events (
  car text NOT NULL,
  time bigint NOT NULL,
  mph int NOT NULL,
  fuel double precision,
  speeding boolean NOT NULL,
  PRIMARY KEY (car, time)
);
