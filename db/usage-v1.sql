-- transitd usage database, schema version 1: the same tables, columns and
-- indexes as the Python transit relay's, so that either program (and either
-- program's Munin plugins) can use a database made by the other.

CREATE TABLE `version` -- one row
(
 `version` INTEGER -- 1
);

CREATE TABLE `current` -- one row, rewritten at start, every 5 minutes, at exit
(
 `rebooted` INTEGER, -- seconds since the epoch when the relay started
 `updated` INTEGER, -- when this row was written
 `connected` INTEGER, -- connections in live pairs (two per pair)
 `waiting` INTEGER, -- tokens waiting for a partner
 `incomplete_bytes` INTEGER -- bytes relayed so far by live pairs
);

CREATE TABLE `usage` -- one row per usage record, as the JSON lines
(
 `started` INTEGER, -- seconds since the epoch (a float unless blurred)
 `total_time` INTEGER, -- seconds from the first accept to the end
 `waiting_time` INTEGER, -- seconds between the two accepts, or NULL
 `total_bytes` INTEGER, -- bytes relayed, both directions
 `result` VARCHAR -- the mood: happy, lonely, errory, impatient,
                  -- redundant, empty
);
CREATE INDEX `usage_started_index` ON `usage` (`started`);
CREATE INDEX `usage_result_index` ON `usage` (`result`);
