-- An order event's position packed with its rowid into one HUGEINT, for order_state.sql and
-- order_outcome.sql: an aggregate's max / min over it is a plain number comparison (an arg_max over a
-- struct key is several times slower), and the rowid of the winning event comes back out of the low
-- 40 bits (a rowid is below 2^40). Within one order, a greater (event_ts, rank) is a greater key whatever
-- the rowid; epoch_us of any DuckDB timestamp times 4 x 2^40 stays far inside a HUGEINT.
CREATE OR REPLACE TEMP MACRO dq_event_key(ts, rank) AS (epoch_us(ts)::HUGEINT * 4 + rank) * 1099511627776;
-- the low 40 bits, also of a negative key (two's complement); a HUGEINT modulo costs 40x more
CREATE OR REPLACE TEMP MACRO dq_key_rowid(k) AS (k & 1099511627775)::BIGINT;
-- a rowid mirrored within the 40 bits (its own inverse): packed instead of the rowid, the max / min over
-- the key gives the lowest / highest rowid among the events equal on the rest
CREATE OR REPLACE TEMP MACRO dq_rowid_mirror(rid) AS 1099511627775 - rid;
-- an order status's place in the order's life at one instant: CREATED, then PAID, then anything after
CREATE OR REPLACE TEMP MACRO dq_order_status_rank(status) AS
  CASE status WHEN 'CREATED' THEN 0 WHEN 'PAID' THEN 1 ELSE 2 END;
