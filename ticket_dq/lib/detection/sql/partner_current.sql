-- requires: name_keys, partner_snapshots
-- cur.partner_schedule: the latest COMPLETE snapshot of each partner, normalised for matching.
-- Only partners whose chosen snapshot changed since the last run are rewritten (incremental).
CREATE TABLE IF NOT EXISTS cur.partner_current_file (source VARCHAR, file VARCHAR, snapshot_ts TIMESTAMP);
CREATE TABLE IF NOT EXISTS cur.partner_schedule (
  source VARCHAR, snapshot_ts TIMESTAMP, cinema_code VARCHAR, partner_cinema_id VARCHAR, show_code VARCHAR,
  business_date DATE, start_time TIMESTAMP, end_time TIMESTAMP, hall_code VARCHAR, hall_name VARCHAR,
  hall_key VARCHAR, hall_tags VARCHAR, film_code VARCHAR, film_name VARCHAR, film_key VARCHAR,
  version_key VARCHAR, duration_min INTEGER, list_price_fen BIGINT, sale_price_fen BIGINT,
  service_fee_fen BIGINT, total_fen BIGINT, seat_total INTEGER, seats_available INTEGER, show_status VARCHAR);
CREATE OR REPLACE TEMP TABLE partner_choice AS
SELECT source, arg_max(file, snapshot_ts) AS file, max(snapshot_ts) AS snapshot_ts
FROM partner_snapshots WHERE complete GROUP BY source;
CREATE OR REPLACE TEMP TABLE partner_changed AS
SELECT * FROM partner_choice c
WHERE NOT EXISTS (SELECT 1 FROM cur.partner_current_file o WHERE o.source = c.source AND o.file = c.file);
DELETE FROM cur.partner_schedule WHERE source IN (SELECT source FROM partner_changed);
INSERT INTO cur.partner_schedule
SELECT r.source, r.snapshot_ts, r.cinema_code, r.partner_cinema_id, r.show_code, r.business_date, r.start_time,
       coalesce(r.end_time, r.start_time + to_minutes(coalesce(r.duration_min, f.duration_min, 120))),
       r.hall_code, r.hall_name, hk.hall_key, hk.hall_tags,
       r.film_code, r.film_name, fk.film_key,
       dq_version_key(coalesce(r.version, f.version)), r.duration_min, r.list_price_fen, r.sale_price_fen,
       r.service_fee_fen, r.sale_price_fen + coalesce(r.service_fee_fen, 0), r.seat_total, r.seats_available,
       r.show_status
FROM raw.partner_schedule r
JOIN partner_changed c ON r.source = c.source AND r.ingest_file = c.file
LEFT JOIN ref.films f ON f.film_code = r.film_code
LEFT JOIN hall_keys hk ON hk.hall_name = r.hall_name
LEFT JOIN film_keys fk ON fk.film_name = coalesce(f.film_name, r.film_name);
DELETE FROM cur.partner_current_file WHERE source IN (SELECT source FROM partner_changed);
INSERT INTO cur.partner_current_file SELECT source, file, snapshot_ts FROM partner_changed;
