-- requires: name_keys
-- cur.competitor_schedule: the latest ingested crawl of each platform, cinemas and films mapped,
-- halls and films normalised. Only platforms with a new crawl are rewritten (incremental).
CREATE TABLE IF NOT EXISTS cur.competitor_current_file (source VARCHAR, file VARCHAR, snapshot_ts TIMESTAMP);
CREATE TABLE IF NOT EXISTS cur.competitor_schedule (
  platform VARCHAR, crawl_ts TIMESTAMP, platform_cinema_id VARCHAR, cinema_code VARCHAR, cinema_name VARCHAR,
  platform_show_id VARCHAR, business_date DATE, start_ts TIMESTAMP, hall_name VARCHAR, hall_key VARCHAR,
  film_name VARCHAR, film_key VARCHAR, film_code VARCHAR, version_key VARCHAR, price_fen BIGINT, sold_out BOOLEAN);
CREATE OR REPLACE TEMP TABLE competitor_choice AS
SELECT source, arg_max(file, snapshot_ts) AS file, max(snapshot_ts) AS snapshot_ts
FROM meta.ingested_files WHERE feed = 'competitor_schedule' AND status = 'INGESTED' GROUP BY source;
CREATE OR REPLACE TEMP TABLE competitor_changed AS
SELECT * FROM competitor_choice c
WHERE NOT EXISTS (SELECT 1 FROM cur.competitor_current_file o WHERE o.source = c.source AND o.file = c.file);
DELETE FROM cur.competitor_schedule WHERE platform IN (SELECT source FROM competitor_changed);
INSERT INTO cur.competitor_schedule
SELECT r.platform, r.crawl_ts, r.platform_cinema_id, m.cinema_code, r.cinema_name, r.platform_show_id,
       r.show_date, r.start_ts, r.hall_name, hk.hall_key, r.film_name, fk.film_key,
       mf.film_code, dq_version_key(r.version_text), r.price_fen, r.sold_out
FROM raw.competitor_schedule r
JOIN competitor_changed c ON r.source = c.source AND r.ingest_file = c.file
LEFT JOIN map.cinema m ON m.source = r.platform AND m.source_cinema_id = r.platform_cinema_id
LEFT JOIN map.film mf ON mf.source = r.platform AND mf.source_film_id = r.platform_film_id
      AND mf.film_name IS NOT DISTINCT FROM r.film_name AND mf.version_text IS NOT DISTINCT FROM r.version_text
LEFT JOIN hall_keys hk ON hk.hall_name = r.hall_name
LEFT JOIN film_keys fk ON fk.film_name = r.film_name;
DELETE FROM cur.competitor_current_file WHERE source IN (SELECT source FROM competitor_changed);
INSERT INTO cur.competitor_current_file SELECT source, file, snapshot_ts FROM competitor_changed;
