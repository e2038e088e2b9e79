-- closed_before(): the boundary of closed order history (lib/closed_orders.py). Orders of shows before it may
-- have left the live tables, so the order checks judge only shows (or hours) from it on and carry their
-- earlier findings forward unchanged; without archived orders it is -infinity and everything is judged.
CREATE OR REPLACE TEMP MACRO closed_before() AS
  coalesce((SELECT max(closed_before) FROM meta.closed_history), CAST('-infinity' AS TIMESTAMP));
-- orders_seen_until(): the newest order event time seen, also when the newest events were archived
CREATE OR REPLACE TEMP MACRO orders_seen_until() AS
  greatest((SELECT max(event_ts) FROM raw.orders), (SELECT max(events_until) FROM meta.closed_history));
