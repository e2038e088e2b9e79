-- Normalised keys of every distinct hall and film name of the schedule feeds (TEMP lookups). Normalising the
-- few thousand distinct names and joining is ~100x cheaper than running the macros on every one of millions
-- of rows. The order comparisons key the names of the current order states instead (order_name_keys.sql):
-- reading every order event ever delivered here would grow with history.
CREATE OR REPLACE TEMP TABLE hall_keys AS
SELECT hall_name, dq_hall_key(hall_name) AS hall_key, dq_hall_tags(hall_name) AS hall_tags FROM (
  SELECT hall_name FROM raw.partner_schedule UNION SELECT hall_name FROM raw.competitor_schedule)
WHERE hall_name IS NOT NULL;
CREATE OR REPLACE TEMP TABLE film_keys AS
SELECT film_name, dq_film_key(film_name) AS film_key FROM (
  SELECT film_name FROM raw.partner_schedule UNION SELECT film_name FROM raw.competitor_schedule
  UNION SELECT film_name FROM ref.films) WHERE film_name IS NOT NULL;
