-- requires: order_name_keys
-- cand.order_show: live orders (PAID/ISSUED/PRINTED) whose show changed or was cancelled after purchase.
-- The order's show is found in the issuing partner's current schedule by show code, else as a re-issued
-- code (same cinema, hall, film and start: the same show, no change). A change counts only when it is
-- real: the partner cancelled explicitly, or the platforms list the show as the partner now has it
-- (time / hall / film) at least as often as the way the customer bought it. A partner-only change is a
-- partner-data fault (surfaced as SHOW_* for BD/RD), never a customer call.
-- Incremental (lib/detection/incremental.py decides): an order is judged from its own partner's schedule
-- and the platforms' crawls only, so when nothing but partner snapshots changed (same crawls, same order states - a fingerprint - and films, same
-- tolerance, clock not gone back) only the orders of those partners are re-evaluated. Kept rows of other
-- partners only age: an order whose show has started leaves the comparison, so its row is deleted.
CREATE OR REPLACE TEMP TABLE o AS
SELECT order_id, partner_code, cinema_code, show_code, show_start_time, cur.order_state.hall_name, hk.hall_key,
       film_code, film_name, ticket_count, total_fen, created_ts
FROM cur.order_state LEFT JOIN order_hall_keys hk ON hk.hall_name = cur.order_state.hall_name
WHERE status IN ('PAID', 'ISSUED', 'PRINTED') AND show_start_time >= CAST($now AS TIMESTAMP)
  AND ($full_run OR partner_code IN (SELECT source FROM changed_inputs WHERE feed = 'partner'));
-- a view: only the changed orders below are kept (a table held every live order once more)
CREATE OR REPLACE TEMP VIEW o_show AS
SELECT o.*, coalesce(p.show_code, r.show_code) AS cur_code, p.show_code IS NULL AND r.show_code IS NOT NULL AS reissued,
       coalesce(p.start_time, r.start_time) AS cur_start, coalesce(p.hall_key, r.hall_key) AS cur_hall_key,
       coalesce(p.hall_name, r.hall_name) AS cur_hall, coalesce(p.film_code, r.film_code) AS cur_film_code,
       coalesce(p.film_key, r.film_key) AS cur_film_key, coalesce(p.film_name, r.film_name) AS cur_film,
       coalesce(p.show_status, r.show_status) AS cur_status, fk.film_key AS o_film_key,
       pc.source IS NOT NULL AS partner_covers
FROM o
LEFT JOIN (SELECT DISTINCT source, cinema_code, business_date FROM cur.partner_schedule) pc
  ON pc.source = o.partner_code AND pc.cinema_code = o.cinema_code
 AND pc.business_date = CAST(o.show_start_time - INTERVAL 6 HOUR AS DATE)
LEFT JOIN ref.films f ON f.film_code = o.film_code
-- a join, not a scalar subquery: that one held every order twice more (a delim join) - 8 of the 10 s of
-- this statement on a record day's 6.6 M live orders. order_film_keys has one row per name (a UNION).
LEFT JOIN order_film_keys fk ON fk.film_name = coalesce(f.film_name, o.film_name)
LEFT JOIN cur.partner_schedule p ON p.source = o.partner_code AND p.cinema_code = o.cinema_code AND p.show_code = o.show_code
LEFT JOIN (SELECT * FROM cur.partner_schedule
           QUALIFY row_number() OVER (PARTITION BY source, cinema_code, start_time, hall_key, film_code ORDER BY show_code) = 1) r
  ON p.show_code IS NULL AND r.source = o.partner_code AND r.cinema_code = o.cinema_code
 AND r.start_time = o.show_start_time AND r.hall_key = o.hall_key AND r.film_code = o.film_code;
-- only orders whose show changed, vanished or was cancelled need the platforms' word
CREATE OR REPLACE TEMP TABLE o_changed AS
SELECT * FROM (
  SELECT *, CASE WHEN cur_code IS NULL THEN NULL
                 WHEN cur_start <> show_start_time THEN 'time_shift'
                 WHEN cur_hall_key IS DISTINCT FROM hall_key THEN 'hall_swap'
                 WHEN cur_film_code IS DISTINCT FROM film_code THEN 'film_swap' END AS change
  FROM o_show)
WHERE cur_code IS NULL OR change IS NOT NULL OR cur_status = 'CANCELLED';
CREATE OR REPLACE TEMP TABLE o_judged AS
SELECT s.*,
  (SELECT count(DISTINCT c.platform) FROM cur.competitor_schedule c
    WHERE c.cinema_code = s.cinema_code AND abs(date_diff('second', c.start_ts, s.show_start_time)) <= $time_tol_min * 60
      AND c.hall_key = s.hall_key AND c.film_key = s.o_film_key) AS n_old,
  (SELECT count(DISTINCT c.platform) FROM cur.competitor_schedule c
    WHERE c.cinema_code = s.cinema_code AND abs(date_diff('second', c.start_ts, s.cur_start)) <= $time_tol_min * 60
      AND c.hall_key = s.cur_hall_key AND c.film_key = s.cur_film_key) AS n_new,
  (SELECT count(DISTINCT c.platform) FROM cur.competitor_schedule c
    WHERE c.cinema_code = s.cinema_code AND c.business_date = CAST(s.show_start_time - INTERVAL 6 HOUR AS DATE)) AS n_cover
FROM o_changed s;
CREATE OR REPLACE TEMP TABLE candidates_new AS
WITH hit AS (
  SELECT *,
    CASE WHEN cur_status = 'CANCELLED' THEN 'ORDER_SHOW_CANCELLED'
         WHEN cur_code IS NULL AND partner_covers AND n_cover >= 1 AND n_old = 0 THEN 'ORDER_SHOW_CANCELLED'
         WHEN change IS NOT NULL AND n_new >= 1 AND n_new >= n_old THEN 'ORDER_SHOW_CHANGED' END AS category,
    CASE WHEN cur_status = 'CANCELLED' THEN 'cancel' WHEN cur_code IS NULL THEN 'vanished' ELSE change END AS rule
  FROM o_judged
)
SELECT category, rule, partner_code AS source, cinema_code, CAST(show_start_time - INTERVAL 6 HOUR AS DATE) AS business_date,
       CASE WHEN category = 'ORDER_SHOW_CHANGED' THEN cur_start ELSE show_start_time END AS show_start_time,
       order_id, NULL::VARCHAR AS pickup_code, 1 AS affected_orders, total_fen AS impact_fen,
       order_id AS business_key,
       CASE WHEN category = 'ORDER_SHOW_CANCELLED'
            THEN format('The {} show of {} the customer booked (order {}) has been cancelled by the cinema.',
                        strftime(show_start_time, '%m-%d %H:%M'), film_name, order_id)
            ELSE format('The show the customer booked (order {}: {} {} in {}) is now {} {} in {}.', order_id, film_name,
                        strftime(show_start_time, '%m-%d %H:%M'), hall_name, cur_film, strftime(cur_start, '%m-%d %H:%M'),
                        cur_hall) END AS reason,
       json_object('order', json_object('order_id', order_id, 'show_code', show_code, 'start', show_start_time,
                                         'hall_name', hall_name, 'film_name', film_name, 'ticket_count', ticket_count),
                   'partner', json_object('show_code', cur_code, 'reissued', reissued, 'start', cur_start,
                                          'hall_name', cur_hall, 'film_name', cur_film, 'status', cur_status),
                   'platforms', json_object('covering', n_cover, 'list_as_bought', n_old, 'list_as_now', n_new)) AS evidence
FROM hit WHERE category IS NOT NULL;
-- other partners' rows stay, except orders whose show has started (they leave the comparison)
CREATE OR REPLACE TEMP TABLE candidates_kept AS
SELECT * FROM cand.order_show
WHERE (source IN (SELECT source FROM changed_inputs WHERE feed = 'partner')
       OR CAST(json_extract_string(evidence, '$.order.start') AS TIMESTAMP) < CAST($now AS TIMESTAMP)) IS NOT TRUE;
