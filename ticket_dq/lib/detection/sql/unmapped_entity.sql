-- cand.unmapped_entity: platform cinemas (and films) currently listed that no alias or name match maps.
CREATE OR REPLACE TEMP TABLE candidates_new AS
SELECT 'UNMAPPED_ENTITY' AS category, 'competitor_cinema_unmatched' AS rule, source, NULL::VARCHAR AS cinema_code,
       CAST(CAST($now AS TIMESTAMP) AS DATE) AS business_date, NULL::TIMESTAMP AS show_start_time,
       NULL::VARCHAR AS order_id, NULL::VARCHAR AS pickup_code, NULL::INTEGER AS affected_orders,
       NULL::BIGINT AS impact_fen, 'cinema|' || source_cinema_id AS business_key,
       format('{} cinema "{}" ({}, id {}) matches no cinema in our master data; its shows cannot be checked.',
              source, cinema_name, city, source_cinema_id) AS reason,
       json_object('platform_cinema_id', source_cinema_id, 'cinema_name', cinema_name, 'city', city,
                   'best_confidence', confidence) AS evidence
FROM map.cinema
WHERE cinema_code IS NULL AND (source, source_cinema_id) IN (
  SELECT (platform, platform_cinema_id) FROM cur.competitor_schedule)
UNION ALL
SELECT 'UNMAPPED_ENTITY', 'competitor_film_unmatched', source, NULL, CAST(CAST($now AS TIMESTAMP) AS DATE), NULL,
       NULL, NULL, NULL, NULL, 'film|' || source_film_id || '|' || coalesce(version_text, ''),
       format('{} film "{}" ({}) matches no film in our master data.', source, film_name, version_text),
       json_object('platform_film_id', source_film_id, 'film_name', film_name, 'version_text', version_text)
FROM map.film
WHERE film_code IS NULL AND last_seen = (SELECT max(crawl_ts) FROM cur.competitor_schedule c WHERE c.platform = map.film.source);
