-- The table that a commerce backend writes its cart records into, for
-- every node's "cartctl follow" (README: "Many nodes").  Each row is one
-- line of "cartctl import": a JSON object of a kind it knows (domain,
-- device, cart, api_key, spree_cart; "deleted": true removes).  Write the
-- rows that belong together (a device's carts) in one transaction: each
-- node applies a PostgreSQL transaction as one store transaction, so its
-- readers never see half of it.
--
-- The table is a log: rows are only inserted.  A later row for the same
-- record replaces it; a new node copies the whole table in id order and
-- ends with the same store.  To keep the table small, delete the rows
-- that a later row of the same record has replaced (deletes are not
-- published, so the nodes do not see them).
--
-- json, not jsonb: the record's text, and the order of its keys, are what
-- the routes serve.

CREATE TABLE cart_records (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record      json NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now()
);

-- inserts only: the nodes follow the log, not its housekeeping
CREATE PUBLICATION cart_records FOR TABLE cart_records
    WITH (publish = 'insert');

-- Each node then needs a role that may replicate and read the table:
--
--   CREATE ROLE cart_follower LOGIN REPLICATION PASSWORD '...';
--   GRANT SELECT ON cart_records TO cart_follower;
--
-- and a pg_hba.conf line that lets it connect for replication, e.g.
--
--   host  cartdb  cart_follower  10.0.0.0/8  scram-sha-256
