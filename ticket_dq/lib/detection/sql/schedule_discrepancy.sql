-- cand.schedule_discrepancy: partner current schedule vs the platforms' current crawls.
-- Shows are compared from $now on, per cinema and business date. A platform "covers" a cinema when its
-- current crawl lists shows there. Pairing, one-to-one (mutual best):
--   L1  same cinema + date, start within $time_tol_min, and same hall or same film;
--   L2  leftovers with same cinema + date + hall + film, start within $max_shift_min (a moved show).
-- Majority decides who is wrong: the partner when every covering platform (>= 2) disagrees with it,
-- a platform when it disagrees with the partner and another platform that agree. When only one
-- platform has an opinion on a show (the only one covering the cinema, or the other lacks the show)
-- and it contradicts the partner's time, hall or film, that is raised too (rule *_single_platform,
-- source = the partner, the reason says it is unconfirmed) rather than dropped for want of a majority.
-- A single platform's silence (no counterpart at all) is not enough for SHOW_EXTRA.
-- Incremental (lib/detection/incremental.py decides, from $full_run, $last_now and TEMP changed_inputs):
-- when only partner snapshots changed since the last evaluation, only those partners' cinemas are
-- re-evaluated (their rows replaced); a new platform crawl or changed tolerances re-evaluate everything.
-- Everything here is judged per cinema, from its own rows at or after $now: so are re-evaluated too the
-- cinemas where a partner or platform show started since the last evaluation (their input changed: a pair
-- may break, a show may lose its counterpart).
CREATE OR REPLACE TEMP TABLE sd_scope AS
SELECT DISTINCT cinema_code FROM cur.partner_schedule
WHERE source IN (SELECT source FROM changed_inputs WHERE feed = 'partner')
UNION SELECT DISTINCT cinema_code FROM cand.schedule_discrepancy
WHERE source IN (SELECT source FROM changed_inputs WHERE feed = 'partner')
UNION SELECT DISTINCT cinema_code FROM cur.partner_schedule
WHERE start_time >= CAST($last_now AS TIMESTAMP) AND start_time < CAST($now AS TIMESTAMP)
UNION SELECT DISTINCT cinema_code FROM cur.competitor_schedule
WHERE start_ts >= CAST($last_now AS TIMESTAMP) AND start_ts < CAST($now AS TIMESTAMP);
-- Only the columns the rules and the evidence read (copying the whole wide schedules was the cost); the
-- row ids are the tables' rowids (same order as a row_number() over the scan, without the serial window).
-- Where two candidates tie, the one with the lesser hash of the values the rules and the evidence read
-- wins (p_tie, c_tie), and only then the lesser row id: a rowid follows the order rows were written in,
-- which a file read in parts side by side does not keep, while rows equal on those values give the
-- same result whichever wins.
CREATE OR REPLACE TEMP TABLE ps AS
SELECT rowid AS pid, source, snapshot_ts, cinema_code, show_code, business_date, start_time, hall_name,
       hall_key, film_name, film_key, total_fen,
       hash(source, show_code, start_time, hall_name, film_name, total_fen) AS p_tie
FROM cur.partner_schedule
WHERE show_status <> 'CANCELLED' AND start_time >= CAST($now AS TIMESTAMP)
  AND ($full_run OR cinema_code IN (SELECT cinema_code FROM sd_scope));
CREATE OR REPLACE TEMP TABLE cs AS
SELECT rowid AS cid, platform, cinema_code, business_date, start_ts, hall_name, hall_key, film_name,
       film_key, price_fen, hash(start_ts, hall_name, film_name, price_fen) AS c_tie
FROM cur.competitor_schedule
WHERE cinema_code IS NOT NULL AND start_ts >= CAST($now AS TIMESTAMP)
  AND ($full_run OR cinema_code IN (SELECT cinema_code FROM sd_scope));
-- a platform covers (cinema, date) when it lists any show there; partner of a cinema = who lists it
CREATE OR REPLACE TEMP TABLE cover AS SELECT DISTINCT platform, cinema_code, business_date FROM cs;
CREATE OR REPLACE TEMP TABLE pcover AS SELECT DISTINCT source, cinema_code, business_date FROM ps;
CREATE OR REPLACE TEMP TABLE l1_all AS
SELECT p.pid, c.cid, c.platform, abs(date_diff('second', p.start_time, c.start_ts)) / 60.0 AS dmin,
       p.hall_key = c.hall_key AS hall_eq, p.film_key = c.film_key AS film_eq, p.p_tie, c.c_tie
FROM ps p JOIN cs c ON c.cinema_code = p.cinema_code AND c.business_date = p.business_date AND c.hall_key = p.hall_key
WHERE abs(date_diff('second', p.start_time, c.start_ts)) <= $time_tol_min * 60
UNION ALL -- pairs with the same hall came from the first join already
SELECT p.pid, c.cid, c.platform, abs(date_diff('second', p.start_time, c.start_ts)) / 60.0,
       p.hall_key = c.hall_key, p.film_key = c.film_key, p.p_tie, c.c_tie
FROM ps p JOIN cs c ON c.cinema_code = p.cinema_code AND c.business_date = p.business_date AND c.film_key = p.film_key
WHERE abs(date_diff('second', p.start_time, c.start_ts)) <= $time_tol_min * 60 AND c.hall_key IS DISTINCT FROM p.hall_key;
CREATE OR REPLACE TEMP TABLE l1 AS
SELECT * FROM (
  SELECT *, row_number() OVER (PARTITION BY pid, platform ORDER BY hall_eq::INT + film_eq::INT DESC, dmin, c_tie, cid) AS rp,
            row_number() OVER (PARTITION BY cid ORDER BY hall_eq::INT + film_eq::INT DESC, dmin, p_tie, pid) AS rc
  FROM l1_all) WHERE rp = 1 AND rc = 1;
CREATE OR REPLACE TEMP TABLE l2 AS
SELECT * FROM (
  SELECT p.pid, c.cid, c.platform, abs(date_diff('second', p.start_time, c.start_ts)) / 60.0 AS dmin,
         row_number() OVER (PARTITION BY p.pid, c.platform ORDER BY abs(date_diff('second', p.start_time, c.start_ts)), c.c_tie, c.cid) AS rp,
         row_number() OVER (PARTITION BY c.cid ORDER BY abs(date_diff('second', p.start_time, c.start_ts)), p.p_tie, p.pid) AS rc
  FROM ps p JOIN cs c ON c.cinema_code = p.cinema_code AND c.business_date = p.business_date
                     AND c.hall_key = p.hall_key AND c.film_key = p.film_key
  WHERE abs(date_diff('second', p.start_time, c.start_ts)) BETWEEN $time_tol_min * 60 AND $max_shift_min * 60
    AND NOT EXISTS (SELECT 1 FROM l1 WHERE l1.pid = p.pid AND l1.platform = c.platform)
    AND c.cid NOT IN (SELECT cid FROM l1)
) WHERE rp = 1 AND rc = 1;
-- one row per partner show x covering platform: what that platform says about it
CREATE OR REPLACE TEMP TABLE view_ AS
SELECT p.pid, v.platform,
       l1.cid AS cid1, l1.hall_eq, l1.film_eq, l2.cid AS cid2
FROM ps p JOIN cover v ON v.cinema_code = p.cinema_code AND v.business_date = p.business_date
LEFT JOIN l1 ON l1.pid = p.pid AND l1.platform = v.platform
LEFT JOIN l2 ON l2.pid = p.pid AND l2.platform = v.platform;
CREATE OR REPLACE TEMP TABLE judged AS
SELECT v.*, c.price_fen, c.start_ts AS c_start, c.hall_name AS c_hall, c.film_name AS c_film,
       CASE WHEN v.cid1 IS NOT NULL AND c.price_fen > 0
            THEN abs(p.total_fen - c.price_fen) / c.price_fen::DOUBLE > $price_tol END AS price_off
FROM view_ v JOIN ps p USING (pid)
LEFT JOIN cs c ON c.cid = coalesce(v.cid1, v.cid2);
-- Each rule's predicate, once: the rules below select by these flags, and evidence is built only for
-- shows some rule flags (building it for every show is the costly part).
CREATE OR REPLACE TEMP TABLE per_show_all AS
SELECT *,
       n_cov >= 2 AND n_l1 = 0 AND n_l2 = 0 AS is_ghost,
       n_cov >= 2 AND n_l1 = 0 AND n_l2 = n_cov AS is_time_shift,
       n_l1 >= 2 AND n_hall_off = n_l1 AS is_hall_swap,
       n_l1 >= 2 AND n_film_off = n_l1 AS is_film_swap,
       n_l1 >= 2 AND n_price_off = n_l1 AND n_hall_off = 0 AND n_film_off = 0 AS is_price,
       n_l1 = 0 AND n_l2 = 1 AS is_time_shift_single_platform,
       n_l1 = 1 AND n_l2 = 0 AND (n_hall_off = 1 OR n_film_off = 1) AS is_swap_single_platform,
       -- a platform that disagrees while the partner and at least one other platform agree
       n_agree >= 1 AND (n_l2 > 0 OR n_hall_off > 0 OR n_film_off > 0) AS has_platform_fault
FROM (
  SELECT pid, count(*) AS n_cov, count(cid1) AS n_l1, count(cid2) AS n_l2,
         count(*) FILTER (WHERE cid1 IS NOT NULL AND NOT hall_eq) AS n_hall_off,
         count(*) FILTER (WHERE cid1 IS NOT NULL AND NOT film_eq) AS n_film_off,
         count(*) FILTER (WHERE cid1 IS NOT NULL AND hall_eq AND film_eq) AS n_agree,
         count(*) FILTER (WHERE price_off) AS n_price_off,
         min(c_start) FILTER (WHERE cid2 IS NOT NULL) AS platform_start
  FROM judged GROUP BY pid);
-- platforms in name order, so the evidence reads the same on every run
CREATE OR REPLACE TEMP TABLE flagged AS
SELECT * FROM per_show_all
WHERE is_ghost OR is_time_shift OR is_hall_swap OR is_film_swap OR is_price OR is_time_shift_single_platform
   OR is_swap_single_platform OR has_platform_fault;
CREATE OR REPLACE TEMP TABLE per_show AS
SELECT f.*, v.platforms_view FROM flagged f
JOIN (SELECT pid, to_json(map_from_entries(list({'k': platform, 'v': json_object('platform_start', c_start, 'hall_name', c_hall,
                                    'film_name', c_film, 'price_fen', price_fen)} ORDER BY platform))) AS platforms_view
      FROM judged WHERE pid IN (SELECT pid FROM flagged) GROUP BY pid) v USING (pid);
CREATE OR REPLACE TEMP TABLE show_orders AS
SELECT cinema_code, show_code, count(*) AS live_orders, sum(total_fen) AS live_fen
FROM cur.order_state WHERE status IN ('PAID', 'ISSUED', 'PRINTED') GROUP BY ALL;
-- platform shows nobody paired: listed by >= 2 platforms that agree with each other -> partner missing it
CREATE OR REPLACE TEMP TABLE c_orphan AS
SELECT * FROM cs WHERE cid NOT IN (SELECT cid FROM l1) AND cid NOT IN (SELECT cid FROM l2);
CREATE OR REPLACE TEMP TABLE missing AS
SELECT a.cinema_code, a.business_date, a.start_ts, a.hall_name, a.film_name, a.price_fen,
       to_json(map_from_entries(list({'k': b.platform, 'v': json_object('start', b.start_ts, 'hall_name', b.hall_name,
               'film_name', b.film_name, 'price_fen', b.price_fen)} ORDER BY b.platform))) AS platforms_view,
       count(DISTINCT b.platform) + 1 AS n_platforms
FROM c_orphan a JOIN c_orphan b ON b.cinema_code = a.cinema_code AND b.business_date = a.business_date
  AND b.platform > a.platform AND b.hall_key = a.hall_key AND b.film_key = a.film_key
  AND abs(date_diff('second', a.start_ts, b.start_ts)) <= $time_tol_min * 60
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE candidates_new AS
WITH base AS (
  SELECT p.*, s.*, coalesce(o.live_orders, 0) AS live_orders, coalesce(o.live_fen, 0) AS live_fen,
         json_object('partner', json_object('source', p.source, 'show_code', p.show_code, 'start', p.start_time,
                       'hall_name', p.hall_name, 'film_name', p.film_name, 'total_fen', p.total_fen,
                       'snapshot_ts', p.snapshot_ts),
                     'platforms', s.platforms_view) AS ev
  FROM ps p JOIN per_show s USING (pid)
  LEFT JOIN show_orders o ON o.cinema_code = p.cinema_code AND o.show_code = p.show_code
), partner_faults AS (
  SELECT 'SHOW_EXTRA' AS category, 'ghost' AS rule, source, cinema_code, business_date, start_time AS show_start_time,
         live_orders, live_fen, ev,
         format('{} lists a {} show of {} in hall {} at cinema {} that no ticketing platform lists.',
                source, strftime(start_time, '%m-%d %H:%M'), film_name, hall_name, cinema_code) AS reason
  FROM base b WHERE is_ghost
    -- a second code of the same show is SHOW_DUPLICATE, not a ghost
    AND NOT EXISTS (SELECT 1 FROM ps t WHERE t.pid <> b.pid AND t.source = b.source AND t.cinema_code = b.cinema_code
                    AND t.start_time = b.start_time AND t.hall_key = b.hall_key AND t.film_key = b.film_key)
  UNION ALL
  SELECT 'SHOW_TIME_MISMATCH', 'time_shift', source, cinema_code, business_date, platform_start, live_orders, live_fen, ev,
         format('{} has {} in hall {} at cinema {} starting {}, but the platforms list it at {}.',
                source, film_name, hall_name, cinema_code, strftime(start_time, '%m-%d %H:%M'),
                strftime(platform_start, '%m-%d %H:%M'))
  FROM base WHERE is_time_shift
  UNION ALL
  SELECT 'SHOW_HALL_MISMATCH', 'hall_swap', source, cinema_code, business_date, start_time, live_orders, live_fen, ev,
         format('{} puts the {} show of {} at cinema {} in {}, but the platforms list another hall.',
                source, strftime(start_time, '%m-%d %H:%M'), film_name, cinema_code, hall_name)
  FROM base WHERE is_hall_swap
  UNION ALL
  SELECT 'SHOW_FILM_MISMATCH', 'film_swap', source, cinema_code, business_date, start_time, live_orders, live_fen, ev,
         format('{} shows {} at {} in hall {} at cinema {}, but the platforms list a different film.',
                source, film_name, strftime(start_time, '%m-%d %H:%M'), hall_name, cinema_code)
  FROM base WHERE is_film_swap
  UNION ALL
  SELECT 'SHOW_PRICE_MISMATCH', 'price', source, cinema_code, business_date, start_time, live_orders, live_fen, ev,
         format('{} prices the {} show of {} at cinema {} at {} yuan, far from what the platforms show.',
                source, strftime(start_time, '%m-%d %H:%M'), film_name, cinema_code, round(total_fen / 100.0, 2))
  FROM base WHERE is_price
  UNION ALL
  -- one platform's word against the partner's: raised, marked unconfirmed
  SELECT 'SHOW_TIME_MISMATCH', 'time_shift_single_platform', source, cinema_code, business_date, platform_start,
         live_orders, live_fen, ev,
         format('{} has {} in hall {} at cinema {} starting {}, but the only platform listing it has {} (unconfirmed: no second platform to compare).',
                source, film_name, hall_name, cinema_code, strftime(start_time, '%m-%d %H:%M'),
                strftime(platform_start, '%m-%d %H:%M'))
  FROM base WHERE is_time_shift_single_platform
  UNION ALL
  SELECT CASE WHEN n_hall_off = 1 THEN 'SHOW_HALL_MISMATCH' ELSE 'SHOW_FILM_MISMATCH' END,
         CASE WHEN n_hall_off = 1 THEN 'hall_swap_single_platform' ELSE 'film_swap_single_platform' END,
         source, cinema_code, business_date, start_time, live_orders, live_fen, ev,
         format('{} lists the {} show of {} at cinema {} in hall {}, but the only platform listing it has another {} (unconfirmed: no second platform to compare).',
                source, strftime(start_time, '%m-%d %H:%M'), film_name, cinema_code, hall_name,
                CASE WHEN n_hall_off = 1 THEN 'hall' ELSE 'film' END)
  FROM base WHERE is_swap_single_platform
), platform_faults AS (
  -- which platform disagrees, and how
  SELECT CASE WHEN j.cid2 IS NOT NULL THEN 'SHOW_TIME_MISMATCH'
              WHEN NOT j.hall_eq THEN 'SHOW_HALL_MISMATCH' ELSE 'SHOW_FILM_MISMATCH' END AS category,
         CASE WHEN j.cid2 IS NOT NULL THEN 'time_shift' WHEN NOT j.hall_eq THEN 'hall_swap' ELSE 'film_swap' END AS rule,
         j.platform AS source, b.cinema_code, b.business_date, b.start_time AS show_start_time, b.live_orders,
         b.live_fen, b.ev,
         format('{} lists the {} show of {} at cinema {} with a different {} than the partner and the other platforms.',
                j.platform, strftime(b.start_time, '%m-%d %H:%M'), b.film_name, b.cinema_code,
                CASE WHEN j.cid2 IS NOT NULL THEN 'start time' WHEN NOT j.hall_eq THEN 'hall' ELSE 'film' END) AS reason
  FROM judged j JOIN base b USING (pid)
  WHERE b.has_platform_fault AND (j.cid2 IS NOT NULL OR (j.cid1 IS NOT NULL AND NOT (j.hall_eq AND j.film_eq)))
)
SELECT category, rule, source, cinema_code, business_date, show_start_time, NULL::VARCHAR AS order_id,
       NULL::VARCHAR AS pickup_code, CAST(live_orders AS INTEGER) AS affected_orders, CAST(live_fen AS BIGINT) AS impact_fen,
       cinema_code || '|' || strftime(show_start_time, '%Y-%m-%d %H:%M') AS business_key, reason, ev AS evidence
FROM (SELECT * FROM partner_faults UNION ALL SELECT * FROM platform_faults)
UNION ALL
SELECT 'SHOW_MISSING', 'dropped', pc.source, m.cinema_code, m.business_date, m.start_ts, NULL, NULL, 0, 0,
       m.cinema_code || '|' || strftime(m.start_ts, '%Y-%m-%d %H:%M'),
       format('{} does not list the {} show of {} in {} at cinema {}, which {} platforms list.',
              pc.source, strftime(m.start_ts, '%m-%d %H:%M'), m.film_name, m.hall_name, m.cinema_code, m.n_platforms),
       json_object('partner', NULL, 'platforms', m.platforms_view)
FROM missing m JOIN pcover pc ON pc.cinema_code = m.cinema_code AND pc.business_date = m.business_date;
-- rows of cinemas not re-evaluated stay, except for shows that have started (they leave the comparison)
CREATE OR REPLACE TEMP TABLE candidates_kept AS
SELECT * FROM cand.schedule_discrepancy
WHERE (cinema_code IN (SELECT cinema_code FROM sd_scope) OR show_start_time < CAST($now AS TIMESTAMP)) IS NOT TRUE;
