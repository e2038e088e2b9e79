-- cur.order_outcome: one row per paid order (a PAID, ISSUED or ISSUE_FAILED event), its issuing timeline
-- by event time, never by arrival (events arrive late and out of order). The show and money are the
-- order's first event: the show as the user bought it. seen_ts is the newest delivery holding one of
-- the order's events: each file has been seen up to its own newest event, so an order whose events came
-- in a file younger than a window is not judged yet (lib/outcomes docstring: settled before judged).
-- The first event is picked as a rowid (a narrow arg_min) and its fields fetched afterwards, as in
-- order_state.sql; per-file horizons are a small aggregate joined back, not a window over every event.
CREATE OR REPLACE TABLE cur.order_outcome AS
WITH files AS (
  SELECT ingest_file, max(event_ts) AS file_seen_ts FROM raw.orders GROUP BY ingest_file
), agg AS (
  SELECT e.order_id,
         arg_min(e.rowid, (e.event_ts, e.ingest_line)) AS rid,
         min(e.event_ts) FILTER (WHERE e.status = 'PAID') AS paid_ts,
         arg_min(e.status, e.event_ts) FILTER (WHERE e.status IN ('ISSUED', 'ISSUE_FAILED')) AS first_outcome,
         min(e.event_ts) FILTER (WHERE e.status IN ('ISSUED', 'ISSUE_FAILED')) AS first_outcome_ts,
         min(e.event_ts) FILTER (WHERE e.status IN ('ISSUED', 'PRINTED')) AS ticket_ts,
         max(e.event_ts) FILTER (WHERE e.status = 'ISSUE_FAILED') AS failed_ts,
         min(e.event_ts) FILTER (WHERE e.status = 'REFUNDED') AS refund_ts,
         max(e.event_ts) FILTER (WHERE e.status = 'CANCELLED') AS cancel_ts,
         max(coalesce(f.file_seen_ts, e.event_ts)) AS seen_ts
  FROM raw.orders e LEFT JOIN files f ON f.ingest_file = e.ingest_file
  WHERE e.order_id IS NOT NULL AND e.event_ts IS NOT NULL
  GROUP BY e.order_id
  HAVING count(*) FILTER (WHERE e.status IN ('PAID', 'ISSUED', 'ISSUE_FAILED')) > 0
)
SELECT a.order_id, r.partner_code, r.channel_code, r.cinema_code, r.show_code, r.show_start_time,
       r.film_name, r.hall_name, r.ticket_count, r.total_fen,
       coalesce(a.paid_ts, a.first_outcome_ts, a.ticket_ts) AS paid_ts, a.first_outcome, a.first_outcome_ts,
       a.ticket_ts, a.failed_ts, a.refund_ts,
       -- CANCELLED after payment closes the order like a refund (the customer has the money back)
       CASE WHEN a.cancel_ts >= coalesce(a.paid_ts, a.first_outcome_ts) THEN a.cancel_ts END AS cancel_ts,
       a.seen_ts
FROM agg a JOIN raw.orders r ON r.rowid = a.rid;
