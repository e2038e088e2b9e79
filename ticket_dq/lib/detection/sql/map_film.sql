-- map.film: every platform film (id, name, version text) -> national film_code by normalised name +
-- version; the reference's films keyed the same way. Unmatched films keep film_code NULL.
CREATE OR REPLACE TABLE map.film AS
WITH pf AS (
  SELECT platform AS source, platform_film_id AS source_film_id, film_name, version_text,
         max(crawl_ts) AS last_seen, max(show_date) AS last_show_date
  FROM raw.competitor_schedule GROUP BY ALL
), rf AS (
  SELECT dq_film_key(film_name) AS film_key, dq_version_key(version) AS version_key, min(film_code) AS film_code
  FROM ref.films GROUP BY ALL
)
SELECT pf.source, pf.source_film_id, pf.film_name, pf.version_text,
       dq_film_key(pf.film_name) AS film_key, dq_version_key(pf.version_text) AS version_key,
       rf.film_code, CASE WHEN rf.film_code IS NULL THEN 'unmatched' ELSE 'name_version' END AS method,
       pf.last_seen, pf.last_show_date
FROM pf LEFT JOIN rf ON rf.film_key = dq_film_key(pf.film_name) AND rf.version_key = dq_version_key(pf.version_text);
