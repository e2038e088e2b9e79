-- map.cinema: every platform cinema seen in the crawls -> national cinema_code.
-- alias table first; else the best name match within the same city (normalised names, Jaro-Winkler),
-- accepted only at or above $cinema_threshold and never onto a cinema the platform already aliases.
CREATE OR REPLACE TABLE map.cinema AS
WITH pc AS (
  SELECT platform AS source, platform_cinema_id AS source_cinema_id,
         arg_max(cinema_name, crawl_ts) AS cinema_name, arg_max(city, crawl_ts) AS city,
         max(crawl_ts) AS last_seen, max(show_date) AS last_show_date
  FROM raw.competitor_schedule WHERE platform_cinema_id IS NOT NULL GROUP BY ALL
), alias AS (
  SELECT pc.*, a.cinema_code FROM pc
  JOIN ref.cinema_aliases a ON a.source = pc.source AND a.source_cinema_id = pc.source_cinema_id
), rest AS (
  SELECT * FROM pc WHERE NOT EXISTS (
    SELECT 1 FROM alias WHERE alias.source = pc.source AND alias.source_cinema_id = pc.source_cinema_id)
), rest_k AS (  -- each name normalised once, not once per (platform cinema, reference cinema) pair
  SELECT source, source_cinema_id, city, dq_cinema_key(cinema_name, city) AS k FROM rest
), ref_k AS (
  SELECT cinema_code, city, dq_cinema_key(cinema_name, city) AS k FROM ref.cinemas
  WHERE city IN (SELECT city FROM rest)
), scored AS (
  SELECT rest.*, r.cinema_code,
         CASE WHEN rest.k = r.k THEN 1.0 ELSE jaro_winkler_similarity(rest.k, r.k) END AS confidence
  FROM rest_k rest JOIN ref_k r ON r.city = rest.city
  WHERE NOT EXISTS (SELECT 1 FROM ref.cinema_aliases a WHERE a.source = rest.source AND a.cinema_code = r.cinema_code)
), best AS (
  SELECT * FROM scored
  QUALIFY row_number() OVER (PARTITION BY source, source_cinema_id ORDER BY confidence DESC, cinema_code) = 1
)
SELECT source, source_cinema_id, cinema_name, city, cinema_code, 'alias' AS method, 1.0::DOUBLE AS confidence,
       last_seen, last_show_date FROM alias
UNION ALL
SELECT rest.source, rest.source_cinema_id, rest.cinema_name, rest.city,
       CASE WHEN b.confidence >= $cinema_threshold THEN b.cinema_code END,
       CASE WHEN b.confidence >= $cinema_threshold THEN 'name' ELSE 'unmatched' END,
       coalesce(b.confidence, 0.0)::DOUBLE, rest.last_seen, rest.last_show_date
FROM rest LEFT JOIN best b USING (source, source_cinema_id);
