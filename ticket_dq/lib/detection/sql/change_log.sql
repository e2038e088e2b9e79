-- requires: name_keys, partner_snapshots
-- cur.change_log: show-level changes between consecutive complete snapshots of each partner.
-- Shows pair by show code; left-overs pair as REISSUED when cinema, hall, film and start are the same.
-- Only snapshot pairs newer than what is already logged for the partner are added (incremental).
CREATE TABLE IF NOT EXISTS cur.change_log (
  source VARCHAR, cinema_code VARCHAR, show_code VARCHAR, old_snapshot_ts TIMESTAMP, new_snapshot_ts TIMESTAMP,
  change VARCHAR, old_value VARCHAR, new_value VARCHAR, start_time TIMESTAMP, hall_name VARCHAR, film_name VARCHAR);
CREATE OR REPLACE TEMP TABLE cl_pairs AS
SELECT * FROM (
  SELECT source, file, snapshot_ts, lag(file) OVER w AS prev_file, lag(snapshot_ts) OVER w AS prev_ts
  FROM partner_snapshots WHERE complete WINDOW w AS (PARTITION BY source ORDER BY snapshot_ts, file)) p
WHERE prev_file IS NOT NULL
  AND snapshot_ts > coalesce((SELECT max(new_snapshot_ts) FROM cur.change_log c WHERE c.source = p.source),
                             TIMESTAMP '1900-01-01');
CREATE OR REPLACE TEMP TABLE cl_rows AS
WITH f AS (SELECT source, snapshot_ts AS new_ts, prev_ts, file, true AS is_new FROM cl_pairs
           UNION ALL SELECT source, snapshot_ts, prev_ts, prev_file, false FROM cl_pairs)
SELECT f.source, f.new_ts, f.prev_ts, f.is_new, r.cinema_code, r.show_code,
       r.start_time, r.hall_name, hk.hall_key, r.film_code, r.film_name,
       r.sale_price_fen, r.show_status
FROM raw.partner_schedule r JOIN f ON r.source = f.source AND r.ingest_file = f.file
LEFT JOIN hall_keys hk ON hk.hall_name = r.hall_name;
CREATE OR REPLACE TEMP TABLE cl_o AS SELECT * FROM cl_rows WHERE NOT is_new;
CREATE OR REPLACE TEMP TABLE cl_n AS SELECT * FROM cl_rows WHERE is_new;
CREATE OR REPLACE TEMP TABLE cl_j AS
SELECT o.source AS o_source, n.source AS n_source, coalesce(o.new_ts, n.new_ts) AS new_ts,
       coalesce(o.prev_ts, n.prev_ts) AS prev_ts, o.cinema_code AS o_cinema, n.cinema_code AS n_cinema,
       o.show_code AS o_code, n.show_code AS n_code, o.start_time AS o_start, n.start_time AS n_start,
       o.hall_name AS o_hall, n.hall_name AS n_hall, o.hall_key AS o_hall_key, n.hall_key AS n_hall_key,
       o.film_code AS o_film, n.film_code AS n_film, o.film_name AS o_film_name, n.film_name AS n_film_name,
       o.sale_price_fen AS o_price, n.sale_price_fen AS n_price, o.show_status AS o_status, n.show_status AS n_status
FROM cl_o o FULL JOIN cl_n n ON n.source = o.source AND n.new_ts = o.new_ts AND n.cinema_code = o.cinema_code
                           AND n.show_code = o.show_code;
CREATE OR REPLACE TEMP TABLE cl_reissue AS
SELECT a.o_source AS source, a.new_ts, a.prev_ts, a.o_cinema AS cinema_code, a.o_code, b.n_code, a.o_start, a.o_hall, a.o_film_name
FROM cl_j a JOIN cl_j b ON a.n_code IS NULL AND b.o_code IS NULL AND b.n_source = a.o_source AND b.new_ts = a.new_ts
 AND b.n_cinema = a.o_cinema AND b.n_start = a.o_start AND b.n_hall_key = a.o_hall_key AND b.n_film = a.o_film;
INSERT INTO cur.change_log
SELECT source, cinema_code, o_code, prev_ts, new_ts, 'REISSUED', o_code, n_code, o_start, o_hall, o_film_name FROM cl_reissue
UNION ALL
SELECT o_source, o_cinema, o_code, prev_ts, new_ts, 'REMOVED', NULL, NULL, o_start, o_hall, o_film_name FROM cl_j
WHERE n_code IS NULL AND NOT EXISTS (SELECT 1 FROM cl_reissue r WHERE r.source = o_source AND r.new_ts = cl_j.new_ts
                                      AND r.cinema_code = o_cinema AND r.o_code = cl_j.o_code)
UNION ALL
SELECT n_source, n_cinema, n_code, prev_ts, new_ts, 'ADDED', NULL, NULL, n_start, n_hall, n_film_name FROM cl_j
WHERE o_code IS NULL AND NOT EXISTS (SELECT 1 FROM cl_reissue r WHERE r.source = n_source AND r.new_ts = cl_j.new_ts
                                      AND r.cinema_code = n_cinema AND r.n_code = cl_j.n_code)
UNION ALL
SELECT o_source, o_cinema, o_code, prev_ts, new_ts, c.change, c.old_value, c.new_value, n_start, n_hall, n_film_name
FROM (SELECT *, unnest([
        CASE WHEN o_start <> n_start THEN {'change': 'TIME', 'old_value': CAST(o_start AS VARCHAR), 'new_value': CAST(n_start AS VARCHAR)} END,
        CASE WHEN o_hall_key IS DISTINCT FROM n_hall_key THEN {'change': 'HALL', 'old_value': o_hall, 'new_value': n_hall} END,
        CASE WHEN o_film IS DISTINCT FROM n_film THEN {'change': 'FILM', 'old_value': o_film_name, 'new_value': n_film_name} END,
        CASE WHEN o_price IS DISTINCT FROM n_price THEN {'change': 'PRICE', 'old_value': CAST(o_price AS VARCHAR), 'new_value': CAST(n_price AS VARCHAR)} END,
        CASE WHEN o_status IS DISTINCT FROM n_status THEN {'change': 'STATUS', 'old_value': o_status, 'new_value': n_status} END
      ]) AS c FROM cl_j WHERE o_code IS NOT NULL AND n_code IS NOT NULL) x
WHERE c IS NOT NULL;
