-- Consumer fences: the next offset each partition's settlement has reached, stored in the same
-- transaction as the work. A consumer advances it only with
--   UPDATE … SET next_offset = $new WHERE (consumer_group, topic, partition) = (…) AND next_offset = $expected
-- so a zombie that lost the partition in a rebalance (and still holds stale in-flight work)
-- updates zero rows and rolls back instead of settling twice.

CREATE TABLE fleet.consumer_fences (
  consumer_group text NOT NULL CHECK (char_length(consumer_group) BETWEEN 1 AND 255),
  topic text NOT NULL CHECK (topic ~ '^[A-Za-z0-9._-]{1,249}$'),
  partition integer NOT NULL CHECK (partition >= 0),
  next_offset bigint NOT NULL CHECK (next_offset >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);

GRANT INSERT (consumer_group, topic, partition, next_offset) ON fleet.consumer_fences TO fleetstream_app;
GRANT UPDATE (next_offset, updated_at) ON fleet.consumer_fences TO fleetstream_app;
