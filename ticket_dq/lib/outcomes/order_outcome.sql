-- cur.order_outcome: one row per paid order (a PAID, ISSUED or ISSUE_FAILED event), its issuing timeline
-- by event time, never by arrival (events arrive late and out of order). The show and money are the
-- order's first event: the show as the user bought it. seen_ts is the newest delivery holding one of
-- the order's events: each file has been seen up to its own newest event, so an order whose events came
-- in a file younger than a window is not judged yet (lib/outcomes docstring: settled before judged).
CREATE OR REPLACE TABLE cur.order_outcome AS
WITH e AS (
  SELECT order_id, event_ts, status, ingest_line, partner_code, channel_code, cinema_code, show_code, show_start_time,
         film_name, hall_name, ticket_count, total_fen,
         max(event_ts) OVER (PARTITION BY ingest_file) AS file_seen_ts
  FROM raw.orders WHERE order_id IS NOT NULL AND event_ts IS NOT NULL
), first AS (
  SELECT order_id, arg_min(rowid_key, (event_ts, ingest_line)) AS k
  FROM (SELECT *, struct_pack(partner_code, channel_code, cinema_code, show_code, show_start_time, film_name,
                              hall_name, ticket_count, total_fen) AS rowid_key FROM e)
  GROUP BY order_id
), agg AS (
  SELECT order_id,
         min(event_ts) FILTER (WHERE status = 'PAID') AS paid_ts,
         arg_min(status, event_ts) FILTER (WHERE status IN ('ISSUED', 'ISSUE_FAILED')) AS first_outcome,
         min(event_ts) FILTER (WHERE status IN ('ISSUED', 'ISSUE_FAILED')) AS first_outcome_ts,
         min(event_ts) FILTER (WHERE status IN ('ISSUED', 'PRINTED')) AS ticket_ts,
         max(event_ts) FILTER (WHERE status = 'ISSUE_FAILED') AS failed_ts,
         min(event_ts) FILTER (WHERE status = 'REFUNDED') AS refund_ts,
         max(event_ts) FILTER (WHERE status = 'CANCELLED') AS cancel_ts,
         max(file_seen_ts) AS seen_ts
  FROM e GROUP BY order_id
  HAVING count(*) FILTER (WHERE status IN ('PAID', 'ISSUED', 'ISSUE_FAILED')) > 0
)
SELECT a.order_id, f.k.partner_code, f.k.channel_code, f.k.cinema_code, f.k.show_code, f.k.show_start_time,
       f.k.film_name, f.k.hall_name, f.k.ticket_count, f.k.total_fen,
       coalesce(a.paid_ts, a.first_outcome_ts, a.ticket_ts) AS paid_ts, a.first_outcome, a.first_outcome_ts,
       a.ticket_ts, a.failed_ts, a.refund_ts,
       -- CANCELLED after payment closes the order like a refund (the customer has the money back)
       CASE WHEN a.cancel_ts >= coalesce(a.paid_ts, a.first_outcome_ts) THEN a.cancel_ts END AS cancel_ts,
       a.seen_ts
FROM agg a JOIN first f USING (order_id);
