-- requires: event_key
-- cur.order_outcome: one row per paid order (a PAID, ISSUED or ISSUE_FAILED event), its issuing timeline
-- by event time, never by arrival (events arrive late and out of order). The show and money are the
-- order's first event: the show as the user bought it. seen_ts is the newest delivery holding one of
-- the order's events: each file has been seen up to its own newest event, so an order whose events came
-- in a file younger than a window is not judged yet (lib/detection/outcome_rules.py: settled before judged).
-- The first event is picked as a rowid (event_key.sql) and its fields fetched afterwards, as in
-- order_state.sql; per-file horizons are a small aggregate joined back, not a window over every event.
-- Incremental on new order files: only orders with an event in a file not seen by the last run are
-- recomputed (a delivered file never changes: re-delivery is a no-op). When a file seen before is gone or
-- has other rows than it had, everything is rebuilt. Table and file state commit together (scripts.run
-- runs the whole script in one transaction).
-- Closed orders (lib/closed_orders.py) have left this table and raw.orders, and retention keeps the file
-- state in step (a file's rows drop by those archived; its seen_ts stays what it was when whole).
CREATE TABLE IF NOT EXISTS cur.order_outcome_files (ingest_file VARCHAR, n_rows BIGINT, seen_ts TIMESTAMP);
CREATE OR REPLACE TEMP TABLE oo_files AS
SELECT r.ingest_file, r.n_rows, coalesce(s.seen_ts, r.seen_ts) AS seen_ts
FROM (SELECT ingest_file, count(*) AS n_rows, max(event_ts) AS seen_ts FROM raw.orders GROUP BY ingest_file) r
LEFT JOIN cur.order_outcome_files s ON s.ingest_file = r.ingest_file;
CREATE OR REPLACE TEMP TABLE oo_mode AS
SELECT EXISTS (SELECT * FROM cur.order_outcome_files EXCEPT SELECT * FROM oo_files)
       OR NOT EXISTS (SELECT 1 FROM information_schema.tables
                      WHERE table_schema = 'cur' AND table_name = 'order_outcome') AS full_run;
-- Empty on a full run, which recomputes every live order anyway (as in order_state.sql).
CREATE OR REPLACE TEMP TABLE oo_touched AS
SELECT DISTINCT order_id FROM raw.orders
WHERE order_id IS NOT NULL AND NOT (SELECT full_run FROM oo_mode)
  AND ingest_file IN (SELECT ingest_file FROM oo_files WHERE ingest_file NOT IN
                      (SELECT ingest_file FROM cur.order_outcome_files WHERE ingest_file IS NOT NULL));
-- less the closed ones (a semi-join against the touched orders, as in order_state.sql)
CREATE OR REPLACE TEMP TABLE oo_affected AS
SELECT order_id FROM oo_touched
ANTI JOIN (SELECT order_id FROM hist.closed_orders SEMI JOIN oo_touched USING (order_id)) c USING (order_id);
-- a view, so the new table is written straight from the aggregate (as in order_state.sql)
CREATE OR REPLACE TEMP VIEW oo_new AS
WITH agg AS MATERIALIZED (
  SELECT e.order_id,
         -- lowest and highest rowid among the order's earliest events (event_key.sql): the same event for
         -- nearly every order, and then it is the first
         min(dq_event_key(e.event_ts, 0) + e.rowid) AS first_lo,
         min(dq_event_key(e.event_ts, 0) + dq_rowid_mirror(e.rowid)) AS first_hi,
         min(e.event_ts) FILTER (WHERE e.status = 'PAID') AS paid_ts,
         arg_min(e.status, e.event_ts) FILTER (WHERE e.status IN ('ISSUED', 'ISSUE_FAILED')) AS first_outcome,
         min(e.event_ts) FILTER (WHERE e.status IN ('ISSUED', 'ISSUE_FAILED')) AS first_outcome_ts,
         min(e.event_ts) FILTER (WHERE e.status IN ('ISSUED', 'PRINTED')) AS ticket_ts,
         max(e.event_ts) FILTER (WHERE e.status = 'ISSUE_FAILED') AS failed_ts,
         min(e.event_ts) FILTER (WHERE e.status = 'REFUNDED') AS refund_ts,
         max(e.event_ts) FILTER (WHERE e.status = 'CANCELLED') AS cancel_ts,
         max(coalesce(f.seen_ts, e.event_ts)) AS seen_ts
  FROM raw.orders e LEFT JOIN oo_files f ON f.ingest_file = e.ingest_file
  WHERE e.order_id IS NOT NULL AND e.event_ts IS NOT NULL
    AND (((SELECT full_run FROM oo_mode) AND e.order_id NOT IN (SELECT order_id FROM hist.closed_orders))
         OR e.order_id IN (SELECT order_id FROM oo_affected))
  GROUP BY e.order_id
  HAVING count(*) FILTER (WHERE e.status IN ('PAID', 'ISSUED', 'ISSUE_FAILED')) > 0
),
-- two first events at the same time (a re-sent event): the earlier line, then the file, decides
tied AS (
  SELECT order_id, arg_min(rowid, (event_ts, ingest_line, ingest_file)) AS rid
  FROM raw.orders SEMI JOIN (SELECT order_id FROM agg
                             WHERE dq_key_rowid(first_lo) <> dq_rowid_mirror(dq_key_rowid(first_hi))) t USING (order_id)
  WHERE event_ts IS NOT NULL
  GROUP BY order_id),
firsts AS (
  SELECT a.*, coalesce(t.rid, dq_key_rowid(a.first_lo)) AS rid FROM agg a LEFT JOIN tied t USING (order_id))
SELECT a.order_id, r.partner_code, r.channel_code, r.cinema_code, r.show_code, r.show_start_time,
       r.film_name, r.hall_name, r.ticket_count, r.total_fen,
       coalesce(a.paid_ts, a.first_outcome_ts, a.ticket_ts) AS paid_ts, a.first_outcome, a.first_outcome_ts,
       a.ticket_ts, a.failed_ts, a.refund_ts,
       -- CANCELLED after payment closes the order like a refund (the customer has the money back)
       CASE WHEN a.cancel_ts >= coalesce(a.paid_ts, a.first_outcome_ts) THEN a.cancel_ts END AS cancel_ts,
       a.seen_ts
FROM firsts a JOIN raw.orders r ON r.rowid = a.rid;
CREATE TABLE IF NOT EXISTS cur.order_outcome AS SELECT * FROM oo_new WHERE false;
-- kept rows + recomputed ones, then the table replaced whole: a DELETE + INSERT of a few hundred thousand
-- rows in this transaction was lost at commit under DuckDB 2.0 (bench/outcome_false_alarms.py showed it)
CREATE OR REPLACE TEMP TABLE oo_kept AS
SELECT * FROM cur.order_outcome
WHERE NOT (SELECT full_run FROM oo_mode) AND order_id NOT IN (SELECT order_id FROM oo_affected);
CREATE OR REPLACE TABLE cur.order_outcome AS SELECT * FROM oo_kept UNION ALL SELECT * FROM oo_new;
DELETE FROM cur.order_outcome_files;
INSERT INTO cur.order_outcome_files SELECT * FROM oo_files;
