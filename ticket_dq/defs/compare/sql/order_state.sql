-- cur.order_state: each order's state as of its latest event (events arrive late and out of order:
-- ordered by event_ts, never by arrival). Shared by the order, seat, pickup and schedule comparisons.
CREATE OR REPLACE TABLE cur.order_state AS
SELECT order_id, created_ts, s.* FROM (
  SELECT order_id, arg_max({'status': status, 'partner_code': partner_code, 'cinema_code': cinema_code,
                            'show_code': show_code, 'show_start_time': show_start_time, 'hall_name': hall_name,
                            'film_code': film_code, 'film_name': film_name, 'seats': seats,
                            'ticket_count': ticket_count, 'total_fen': total_fen, 'last_event_ts': event_ts},
                           (event_ts, CASE status WHEN 'CREATED' THEN 0 WHEN 'PAID' THEN 1 ELSE 2 END, status, ingest_file, ingest_line)) AS s,
         min(event_ts) AS created_ts
  FROM raw.orders WHERE order_id IS NOT NULL GROUP BY order_id);
