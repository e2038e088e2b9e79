-- cand.pickup_code: per pickup code (latest state per channel partner, code and order):
-- PICKUP_CODE_DUPLICATE (one code on two orders; order_id = the later), PICKUP_CODE_INVALID for an
-- unknown order, for a live order of a cancelled show, or with seats different from the order's.
CREATE OR REPLACE TEMP TABLE candidates_new AS
WITH pc AS (
  -- The latest row of each code and order. A writer may keep a code's allocation_ts on every status row:
  -- on equal times the later status in the code's life wins (ALLOCATED, DELIVERED, PRINTED, then REVOKED,
  -- the last word), never whichever row came first. The key is a BIGINT (milliseconds x 4 + rank: no
  -- timestamp overflows it; the feed's times are whole seconds), as fast as the bare time; a HUGEINT or
  -- struct key took twice as long.
  SELECT channel_partner, pickup_code, order_id, arg_max(status, k) AS status, arg_max(seats, k) AS seats,
         arg_max(cinema_code, k) AS cinema_code, arg_max(show_start_time, k) AS show_start_time,
         min(allocation_ts) AS first_ts
  FROM (SELECT *, epoch_ms(allocation_ts) * 4
                  + CASE status WHEN 'DELIVERED' THEN 1 WHEN 'PRINTED' THEN 2 WHEN 'REVOKED' THEN 3 ELSE 0 END AS k
        FROM raw.pickup_codes WHERE pickup_code IS NOT NULL)
  GROUP BY channel_partner, pickup_code, order_id
), live AS (SELECT * FROM pc WHERE status <> 'REVOKED'),
multi AS (
  -- Two passes, as in seat_double_sold.sql: a count finds the few codes held by more than one order,
  -- and only those are aggregated with the sorted list and arg_max (doing that for each of the ~7 M
  -- codes of a record day's bulk pushes was most of this script's time).
  SELECT channel_partner, pickup_code FROM live GROUP BY ALL HAVING count(DISTINCT order_id) > 1
), dup AS (
  -- The later order is reported, with its cinema and show. Bulk pushes give many codes one
  -- allocation_ts, so ties are broken by order id: the issue must read the same on every run
  -- (its show time decides whether customer service is told).
  SELECT l.channel_partner, l.pickup_code, arg_max(order_id, (first_ts, order_id)) AS order_id,
         list(order_id ORDER BY first_ts, order_id) AS orders,
         arg_max(cinema_code, (first_ts, order_id)) AS cinema_code,
         arg_max(show_start_time, (first_ts, order_id)) AS show_start_time
  FROM live l SEMI JOIN multi m ON m.channel_partner IS NOT DISTINCT FROM l.channel_partner AND m.pickup_code = l.pickup_code
  GROUP BY l.channel_partner, l.pickup_code
), inv AS (
  SELECT l.*, os.order_id IS NULL AS unknown,
         l.order_id IN (SELECT order_id FROM cand.order_show WHERE category = 'ORDER_SHOW_CANCELLED') AS cancelled,
         -- the seat lists are split and sorted only where the texts differ (a record day has ~7 M codes)
         CASE WHEN os.order_id IS NULL OR l.seats = os.seats THEN false
              ELSE list_sort(list_transform(string_split(l.seats, ','), lambda x: trim(x)))
                   <> list_sort(list_transform(string_split(os.seats, ','), lambda x: trim(x))) END AS seat_bad,
         os.seats AS order_seats
  FROM live l LEFT JOIN cur.order_state os ON os.order_id = l.order_id
)
SELECT 'PICKUP_CODE_DUPLICATE' AS category, 'duplicate' AS rule, channel_partner AS source, cinema_code,
       CAST(show_start_time - INTERVAL 6 HOUR AS DATE) AS business_date, show_start_time, order_id, pickup_code,
       CAST(len(orders) AS INTEGER) AS affected_orders, NULL::BIGINT AS impact_fen, pickup_code AS business_key,
       format('Pickup code {} from {} was handed out for {} different orders.', pickup_code, channel_partner, len(orders)) AS reason,
       json_object('orders', orders) AS evidence
FROM dup
UNION ALL
SELECT 'PICKUP_CODE_INVALID',
       CASE WHEN unknown THEN 'unknown_order' WHEN cancelled THEN 'cancelled_show' ELSE 'seat_mismatch' END,
       channel_partner, cinema_code, CAST(show_start_time - INTERVAL 6 HOUR AS DATE), show_start_time, order_id, pickup_code,
       1, NULL, pickup_code,
       CASE WHEN unknown THEN format('Pickup code {} from {} belongs to order {}, which we have no record of.',
                                     pickup_code, channel_partner, order_id)
            WHEN cancelled THEN format('Pickup code {} from {} is for a show that has been cancelled (order {}).',
                                       pickup_code, channel_partner, order_id)
            ELSE format('Pickup code {} from {} lists seats {} but order {} holds {}.', pickup_code, channel_partner,
                        seats, order_id, order_seats) END,
       json_object('order_id', order_id, 'code_seats', seats, 'order_seats', order_seats, 'status', status,
                   'allocated_at', first_ts)
FROM inv WHERE unknown OR cancelled OR seat_bad;
