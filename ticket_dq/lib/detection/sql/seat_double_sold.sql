-- requires: order_name_keys
-- cand.seat_double_sold: the same seat of the same show (cinema, start, hall) in two or more live orders.
-- One row per show and seat; order_id = the later order.
-- Two passes: a count per (show, seat) finds the few seats held by more than one order row, and only
-- those rows are aggregated with the lists and arg_max (aggregating every one of ~1 M seats was the cost).
CREATE OR REPLACE TEMP TABLE sds_seat AS
SELECT order_id, partner_code, cinema_code, show_start_time, hk.hall_key, cur.order_state.hall_name, film_name,
       created_ts, total_fen, trim(unnest(string_split(seats, ','))) AS seat
FROM cur.order_state LEFT JOIN order_hall_keys hk ON hk.hall_name = cur.order_state.hall_name
WHERE status IN ('PAID', 'ISSUED', 'PRINTED') AND seats IS NOT NULL;
CREATE OR REPLACE TEMP TABLE candidates_new AS
WITH multi AS (
  SELECT cinema_code, show_start_time, hall_key, seat FROM sds_seat
  GROUP BY cinema_code, show_start_time, hall_key, seat HAVING count(*) > 1
), g AS (
  -- Ties (same created_ts) are broken by order id so the issue reads the same on every run.
  SELECT s.cinema_code, s.show_start_time, s.hall_key, s.seat, min(hall_name) AS hall_name, min(film_name) AS film_name,
         arg_max(order_id, (created_ts, order_id)) AS later_order, arg_max(partner_code, (created_ts, order_id)) AS partner_code,
         list(order_id ORDER BY created_ts, order_id) AS orders, max(total_fen) AS impact
  FROM sds_seat s SEMI JOIN multi m
    ON m.cinema_code IS NOT DISTINCT FROM s.cinema_code AND m.show_start_time IS NOT DISTINCT FROM s.show_start_time
   AND m.hall_key IS NOT DISTINCT FROM s.hall_key AND m.seat IS NOT DISTINCT FROM s.seat
  GROUP BY s.cinema_code, s.show_start_time, s.hall_key, s.seat HAVING count(DISTINCT order_id) > 1
)
SELECT 'SEAT_DOUBLE_SOLD' AS category, 'double_sold' AS rule, partner_code AS source, cinema_code,
       CAST(show_start_time - INTERVAL 6 HOUR AS DATE) AS business_date, show_start_time, later_order AS order_id,
       NULL::VARCHAR AS pickup_code, CAST(len(orders) AS INTEGER) AS affected_orders, impact AS impact_fen,
       cinema_code || '|' || strftime(show_start_time, '%Y-%m-%d %H:%M') || '|' || coalesce(hall_key, '') || '|' || seat AS business_key,
       format('Seat {} of the {} show of {} in {} at cinema {} was sold to {} orders.', seat,
              strftime(show_start_time, '%m-%d %H:%M'), film_name, hall_name, cinema_code, len(orders)) AS reason,
       json_object('seat', seat, 'orders', orders, 'hall_name', hall_name, 'start', show_start_time) AS evidence
FROM g;
