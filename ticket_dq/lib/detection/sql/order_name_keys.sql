-- Normalised keys of the hall and film names the order comparisons read (TEMP lookups): those of
-- cur.order_state (each order as of its latest event) and of the film master data, a set that does not
-- grow with the days of order events behind it.
CREATE OR REPLACE TEMP TABLE order_hall_keys AS
SELECT hall_name, dq_hall_key(hall_name) AS hall_key FROM (SELECT DISTINCT hall_name FROM cur.order_state)
WHERE hall_name IS NOT NULL;
CREATE OR REPLACE TEMP TABLE order_film_keys AS
SELECT film_name, dq_film_key(film_name) AS film_key FROM (
  SELECT film_name FROM cur.order_state UNION SELECT film_name FROM ref.films) WHERE film_name IS NOT NULL;
