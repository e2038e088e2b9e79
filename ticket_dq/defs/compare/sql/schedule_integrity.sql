-- cand.schedule_integrity: within one partner's current schedule, SHOW_DUPLICATE (the same show - cinema,
-- hall, film, start - under two or more show codes) and HALL_OVERLAP (a show starting before the previous
-- show in the same hall has ended plus $cleaning_gap_min).
CREATE OR REPLACE TABLE cand.schedule_integrity AS
-- Shows that started more than $integrity_lookback_h hours ago are history: not worth an alert.
WITH live AS (SELECT * FROM cur.partner_schedule WHERE show_status <> 'CANCELLED'
              AND start_time >= CAST($now AS TIMESTAMP) - to_hours($integrity_lookback_h)),
dup AS (
  SELECT source, cinema_code, business_date, start_time, hall_key, film_key, min(hall_name) AS hall_name,
         min(film_name) AS film_name, list(show_code ORDER BY show_code) AS show_codes
  FROM live GROUP BY source, cinema_code, business_date, start_time, hall_key, film_key HAVING count(*) > 1
), seq AS (
  SELECT *, lag(start_time) OVER w AS prev_start, lag(end_time) OVER w AS prev_end, lag(show_code) OVER w AS prev_code,
         lag(film_name) OVER w AS prev_film
  FROM (SELECT DISTINCT ON (source, cinema_code, hall_key, start_time) * FROM live)
  WINDOW w AS (PARTITION BY source, cinema_code, hall_key ORDER BY start_time)
)
SELECT 'SHOW_DUPLICATE' AS category, 'two_codes' AS rule, source, cinema_code, business_date,
       start_time AS show_start_time, NULL::VARCHAR AS order_id, NULL::VARCHAR AS pickup_code,
       NULL::INTEGER AS affected_orders, NULL::BIGINT AS impact_fen,
       cinema_code || '|' || strftime(start_time, '%Y-%m-%d %H:%M') AS business_key,
       format('{} lists the {} show of {} in {} at cinema {} {} times under different show codes.',
              source, strftime(start_time, '%m-%d %H:%M'), film_name, hall_name, cinema_code, len(show_codes)) AS reason,
       json_object('partner', json_object('show_codes', show_codes, 'hall_name', hall_name, 'film_name', film_name,
                                          'start', start_time)) AS evidence
FROM dup
UNION ALL
SELECT 'HALL_OVERLAP', 'overlap', source, cinema_code, business_date, start_time, NULL, NULL, NULL, NULL,
       cinema_code || '|' || strftime(start_time, '%Y-%m-%d %H:%M'),
       format('At cinema {} hall {}, the {} show of {} starts before the {} show has ended ({}) plus cleaning time.',
              cinema_code, hall_name, strftime(start_time, '%m-%d %H:%M'), film_name, strftime(prev_start, '%H:%M'),
              strftime(prev_end, '%H:%M')),
       json_object('partner', json_object('show_code', show_code, 'start', start_time, 'end', end_time,
                   'previous_show_code', prev_code, 'previous_start', prev_start, 'previous_end', prev_end,
                   'hall_name', hall_name))
FROM seq WHERE prev_end IS NOT NULL AND start_time < prev_end + to_minutes($cleaning_gap_min);
