-- cand.schedule_integrity: within one partner's current schedule, SHOW_DUPLICATE (the same show - cinema,
-- hall, film, start - under two or more show codes) and HALL_OVERLAP (a show starting before the previous
-- show in the same hall has ended plus $cleaning_gap_min).
-- Shows that started more than $integrity_lookback_h hours ago are history: not worth an alert.
-- Incremental (lib/detection/incremental.py decides): every finding lies within one partner's schedule,
-- so when the knobs are unchanged and the clock has not gone back, only partners whose current snapshot changed are re-evaluated. The other
-- partners' rows only age: moving the clock forward drops the shows that fell behind the lookback, i.e. a
-- prefix of each hall's sequence, so a kept row stays exactly as a full evaluation would give it unless its
-- show, or for HALL_OVERLAP the previous show it overlaps, is now behind the lookback; those are deleted.
CREATE OR REPLACE TEMP TABLE si_window AS
SELECT CAST($now AS TIMESTAMP) - to_hours($integrity_lookback_h) AS cutoff;
CREATE OR REPLACE TEMP TABLE candidates_new AS
WITH live AS (SELECT source, cinema_code, business_date, show_code, start_time, end_time, hall_key, hall_name,
                     film_key, film_name
              FROM cur.partner_schedule WHERE show_status <> 'CANCELLED'
              AND start_time >= (SELECT cutoff FROM si_window)
              AND ($full_run OR source IN (SELECT source FROM changed_inputs WHERE feed = 'partner'))),
dup_key AS (  -- the few shows listed more than once, found with a bare count before lists are built
  SELECT source, cinema_code, business_date, start_time, hall_key, film_key FROM live
  GROUP BY source, cinema_code, business_date, start_time, hall_key, film_key HAVING count(*) > 1
), dup AS (
  SELECT l.source, l.cinema_code, l.business_date, l.start_time, l.hall_key, l.film_key, min(hall_name) AS hall_name,
         min(film_name) AS film_name, list(show_code ORDER BY show_code) AS show_codes
  FROM live l SEMI JOIN dup_key k
    ON k.source IS NOT DISTINCT FROM l.source AND k.cinema_code IS NOT DISTINCT FROM l.cinema_code
   AND k.business_date IS NOT DISTINCT FROM l.business_date AND k.start_time = l.start_time
   AND k.hall_key IS NOT DISTINCT FROM l.hall_key AND k.film_key IS NOT DISTINCT FROM l.film_key
  GROUP BY l.source, l.cinema_code, l.business_date, l.start_time, l.hall_key, l.film_key
), seq AS (
  SELECT *, lag(start_time) OVER w AS prev_start, lag(end_time) OVER w AS prev_end, lag(show_code) OVER w AS prev_code,
         lag(film_name) OVER w AS prev_film
  -- of shows sharing a hall and start, the lowest show code stands for them (the same on every run)
  FROM (SELECT * FROM live
        QUALIFY row_number() OVER (PARTITION BY source, cinema_code, hall_key, start_time ORDER BY show_code) = 1)
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
CREATE OR REPLACE TEMP TABLE candidates_kept AS
SELECT * FROM cand.schedule_integrity
WHERE (source IN (SELECT source FROM changed_inputs WHERE feed = 'partner')
       OR show_start_time < (SELECT cutoff FROM si_window)
       OR (category = 'HALL_OVERLAP'
           AND CAST(json_extract_string(evidence, '$.partner.previous_start') AS TIMESTAMP) < (SELECT cutoff FROM si_window)))
      IS NOT TRUE;
