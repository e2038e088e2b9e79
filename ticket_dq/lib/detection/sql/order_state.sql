-- requires: event_key
-- cur.order_state: each order's state as of its latest event (events arrive late and out of order:
-- ordered by event_ts, never by arrival). Shared by the order, seat, pickup and schedule comparisons.
-- The aggregate picks only the winning event's rowid (event_key.sql); its fields are fetched by rowid
-- afterwards: carrying a 12-field struct through arg_max over ~2 M events was 5x slower.
-- Incremental on new order files, so a day costs its own events, not the week behind it: only orders with
-- an event in a file the last run had not seen are recomputed (from all their events, old ones included);
-- the others keep their row. The files seen are the ledger's (a delivered file never changes: re-delivery
-- is a no-op); when a file seen before is gone or has another row count, or raw.orders holds rows the ledger
-- does not account for, everything is rebuilt. As in
-- order_outcome.sql the table is replaced whole from kept + recomputed rows, with its file list, in the
-- script's one transaction.
-- Closed orders (lib/closed_orders.py) have left this table and raw.orders; a late event of one stays out
-- of the live state (it is archived with its order by the next retention run). A file's rows are the
-- ledger's minus those archived.
CREATE TABLE IF NOT EXISTS cur.order_state_files (ingest_file VARCHAR, n_rows BIGINT);
CREATE OR REPLACE TEMP TABLE os_files AS
SELECT * FROM (
  SELECT i.file AS ingest_file, i.rows_ingested - coalesce(a.n, 0) AS n_rows FROM meta.ingested_files i
  LEFT JOIN (SELECT file, sum(rows_archived) AS n FROM meta.archived_events WHERE feed = 'orders' GROUP BY ALL) a
    ON a.file = i.file
  WHERE i.feed = 'orders' AND i.status = 'INGESTED') WHERE n_rows > 0;
CREATE OR REPLACE TEMP TABLE os_mode AS
SELECT EXISTS (SELECT * FROM cur.order_state_files EXCEPT SELECT * FROM os_files)
       -- rows that reached raw.orders outside the ledger: nothing tells which orders they touch
       OR (SELECT count(*) FROM raw.orders) <> (SELECT coalesce(sum(n_rows), 0) FROM os_files)
       OR NOT EXISTS (SELECT 1 FROM information_schema.tables
                      WHERE table_schema = 'cur' AND table_name = 'order_state') AS full_run;
CREATE OR REPLACE TEMP TABLE os_new_files AS
SELECT ingest_file FROM os_files WHERE ingest_file NOT IN (SELECT ingest_file FROM cur.order_state_files);
-- Empty on a full run, which recomputes every live order anyway: listing them (a DISTINCT over every event,
-- then a hash join of every event against it) cost a record day's full run as much as the aggregate.
CREATE OR REPLACE TEMP TABLE os_touched AS
SELECT DISTINCT order_id FROM raw.orders
WHERE order_id IS NOT NULL AND NOT (SELECT full_run FROM os_mode)
  AND ingest_file IN (SELECT ingest_file FROM os_new_files);
-- less the closed ones: a semi-join scans hist.closed_orders once against the few touched orders, instead of
-- hashing every order ever closed
CREATE OR REPLACE TEMP TABLE os_affected AS
SELECT order_id FROM os_touched
ANTI JOIN (SELECT order_id FROM hist.closed_orders SEMI JOIN os_touched USING (order_id)) c USING (order_id);
-- A view, not a table: the new cur.order_state below is written straight from the aggregate. As a temp
-- table every recomputed order was held twice more before the final copy (a full run of a record day:
-- 8 M orders, at DuckDB's memory limit).
CREATE OR REPLACE TEMP VIEW os_new AS
WITH scoped AS (
  SELECT order_id, rowid AS rid, event_ts,
         dq_order_status_rank(status) AS status_rank
  FROM raw.orders
  WHERE order_id IS NOT NULL
    AND (((SELECT full_run FROM os_mode) AND order_id NOT IN (SELECT order_id FROM hist.closed_orders))
         OR order_id IN (SELECT order_id FROM os_affected))),
-- The latest event is the greatest (event_ts, status rank, status, ingest_file, ingest_line). Nearly every
-- order has one event greatest on (event_ts, status rank) alone, and that pair packs with the rowid into one
-- HUGEINT: the max of (pair, rowid) and of (pair, -rowid) give the highest and lowest rowid among the
-- events greatest on the pair, and when those are the same event it is the latest. An arg_max over the
-- five-field struct cost 3x the whole aggregate (a record day: 10.6-12.2 s against 3.3-4.3 s).
packed AS MATERIALIZED (
  SELECT order_id, min(event_ts) AS created_ts, count(*) - count(event_ts) AS untimed,
         max(dq_event_key(event_ts, status_rank) + rid) AS hi,
         max(dq_event_key(event_ts, status_rank) + dq_rowid_mirror(rid)) AS lo
  FROM scoped GROUP BY order_id),
-- Orders with two events equal on the pair (a re-sent event), or an event without a time: the whole key
-- decides, over their few events.
tied AS (
  SELECT order_id, arg_max(rowid, (event_ts, dq_order_status_rank(status), status, ingest_file, ingest_line)) AS rid
  FROM raw.orders SEMI JOIN (SELECT order_id FROM packed
                             WHERE untimed > 0 OR dq_key_rowid(hi) <> dq_rowid_mirror(dq_key_rowid(lo))) t USING (order_id)
  GROUP BY order_id),
latest AS (
  SELECT p.order_id, p.created_ts, coalesce(t.rid, dq_key_rowid(p.hi)) AS rid
  FROM packed p LEFT JOIN tied t USING (order_id))
SELECT l.order_id, l.created_ts, r.status, r.partner_code, r.cinema_code, r.show_code, r.show_start_time, r.hall_name,
       r.film_code, r.film_name, r.seats, r.ticket_count, r.total_fen, r.event_ts AS last_event_ts
FROM latest l JOIN raw.orders r ON r.rowid = l.rid;
CREATE TABLE IF NOT EXISTS cur.order_state AS SELECT * FROM os_new WHERE false;
CREATE OR REPLACE TEMP TABLE os_kept AS
SELECT * FROM cur.order_state
WHERE NOT (SELECT full_run FROM os_mode) AND order_id NOT IN (SELECT order_id FROM os_affected);
CREATE OR REPLACE TABLE cur.order_state AS SELECT * FROM os_kept UNION ALL SELECT * FROM os_new;
DELETE FROM cur.order_state_files;
INSERT INTO cur.order_state_files SELECT * FROM os_files;
