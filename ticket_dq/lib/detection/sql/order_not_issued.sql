-- cand.order_not_issued (ORDER_NOT_ISSUED): one row per paid order the customer has no ticket for, judged
-- only once its data have settled (lib/detection/outcome_rules.py). Rules:
--   not_issued           no ISSUED/PRINTED within $issuing_window_min of PAID (none at all by now);
--   failed_not_refunded  ISSUE_FAILED and no REFUNDED within $refund_window_min after it;
--   code_not_delivered   an order sold through a channel partner with a pickup code: issued only once the
--                        code was DELIVERED (or PRINTED) in raw.pickup_codes, within $code_window_min of
--                        PAID and the channel's feed seen that far.
-- A ticket, refund or cancellation arriving later (by event time) resolves the issue on the next run.
-- affected_orders = the orders of the same partner not issued in the same hour (a wave tells RD as well).
CREATE OR REPLACE TEMP TABLE oni_horizon AS
SELECT least(CAST($now AS TIMESTAMP), orders_seen_until()) AS horizon;
CREATE OR REPLACE TEMP TABLE oni_codes AS
SELECT order_id, arg_max(channel_partner, allocation_ts) AS channel_partner, arg_max(pickup_code, allocation_ts) AS pickup_code,
       bool_or(status IN ('DELIVERED', 'PRINTED')) AS delivered, bool_or(status = 'REVOKED') AS revoked
FROM raw.pickup_codes WHERE order_id IS NOT NULL AND pickup_code IS NOT NULL GROUP BY order_id;
CREATE OR REPLACE TEMP TABLE oni_channel AS
SELECT channel_partner, max(allocation_ts) AS channel_seen_ts FROM raw.pickup_codes GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE oni AS
SELECT * FROM (
  SELECT o.*, c.pickup_code, c.channel_partner, c.delivered, h.horizon,
    CASE
      WHEN o.refund_ts IS NOT NULL OR o.cancel_ts IS NOT NULL THEN NULL
      WHEN o.ticket_ts IS NULL AND o.failed_ts IS NOT NULL
           AND greatest(o.failed_ts, o.seen_ts) + to_minutes($refund_window_min) <= h.horizon THEN 'failed_not_refunded'
      WHEN o.ticket_ts IS NULL AND o.failed_ts IS NULL
           AND greatest(o.paid_ts, o.seen_ts) + to_minutes($issuing_window_min) <= h.horizon THEN 'not_issued'
      WHEN o.ticket_ts IS NOT NULL AND c.order_id IS NOT NULL AND NOT c.delivered AND NOT c.revoked
           AND o.paid_ts + to_minutes($code_window_min) <= least(h.horizon, ch.channel_seen_ts)
           AND o.seen_ts + to_minutes($issuing_window_min) <= h.horizon THEN 'code_not_delivered'
    END AS rule
  FROM cur.order_outcome o CROSS JOIN oni_horizon h
  LEFT JOIN oni_codes c ON c.order_id = o.order_id
  LEFT JOIN oni_channel ch ON ch.channel_partner = c.channel_partner
) WHERE rule IS NOT NULL;
CREATE OR REPLACE TEMP TABLE candidates_new AS
SELECT 'ORDER_NOT_ISSUED' AS category, rule, partner_code AS source, cinema_code,
       CAST(show_start_time - INTERVAL 6 HOUR AS DATE) AS business_date, show_start_time, order_id, pickup_code,
       CAST(count(*) OVER (PARTITION BY partner_code, date_trunc('hour', paid_ts)) AS INTEGER) AS affected_orders,
       total_fen AS impact_fen, order_id AS business_key,
       format('Order {} ({} x{} for {} at {}, ¥{}) was paid at {} and {}.', order_id, film_name, ticket_count,
              strftime(show_start_time, '%m-%d %H:%M'), cinema_code, printf('%.2f', total_fen / 100.0),
              strftime(paid_ts, '%m-%d %H:%M'),
              CASE rule
                WHEN 'not_issued' THEN format('has no ticket {} minutes later', date_diff('minute', paid_ts, horizon))
                WHEN 'failed_not_refunded' THEN format('its ticket failed to issue at {}, with no refund since',
                                                       strftime(failed_ts, '%H:%M'))
                ELSE format('was issued, but {} pickup code {} has not been delivered to the customer',
                            channel_partner, pickup_code) END) AS reason,
       json_object('order_id', order_id, 'rule', rule, 'channel', channel_code, 'event_at', paid_ts,
                   'paid_at', paid_ts, 'first_outcome', first_outcome, 'failed_at', failed_ts, 'ticket_at', ticket_ts,
                   'pickup_code', pickup_code, 'channel_partner', channel_partner, 'code_delivered', delivered,
                   'orders_seen_until', horizon,
                   'window_min', CASE rule WHEN 'not_issued' THEN $issuing_window_min
                                           WHEN 'failed_not_refunded' THEN $refund_window_min ELSE $code_window_min END,
                   'wave_orders', count(*) OVER (PARTITION BY partner_code, date_trunc('hour', paid_ts))) AS evidence
FROM oni;
