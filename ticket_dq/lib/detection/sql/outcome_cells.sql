-- outcome_cells(outcomes, refund_after_start_h): what a set of order outcomes (a table of cur.order_outcome's
-- shape, named as text) adds to the outcome-spike cells per (kind, partner, hour): n and k of the issue-failure
-- kind, refunds (k), and the refund exposure's entries (tickets) and exits (refund, or the end of the refund
-- watch). Every part is a count, so the cells of two disjoint sets of orders add up: order_outcome_spike.sql
-- sums the live orders' cells with those of the closed orders (hist.outcome_cells, lib/closed_orders.py).
CREATE OR REPLACE TEMP MACRO outcome_cells(outcomes, refund_after_start_h) AS TABLE
SELECT kind, partner_code, hour, CAST(sum(n) AS BIGINT) AS n, CAST(sum(k) AS BIGINT) AS k,
       CAST(sum(entries) AS BIGINT) AS entries, CAST(sum(exits) AS BIGINT) AS exits
FROM (
  SELECT 'issue_failure' AS kind, partner_code, date_trunc('hour', first_outcome_ts) AS hour, 1 AS n,
         CAST(first_outcome = 'ISSUE_FAILED' AS INTEGER) AS k, 0 AS entries, 0 AS exits
  FROM query_table(outcomes) WHERE first_outcome_ts IS NOT NULL
  UNION ALL
  SELECT 'refund', partner_code, date_trunc('hour', refund_ts), 0, 1, 0, 0
  FROM query_table(outcomes)
  WHERE ticket_ts <= refund_ts AND refund_ts < show_start_time + to_hours(refund_after_start_h)
  UNION ALL
  SELECT 'refund', partner_code, date_trunc('hour', ticket_ts), 0, 0, 1, 0
  FROM query_table(outcomes) WHERE ticket_ts IS NOT NULL
  UNION ALL
  SELECT 'refund', partner_code,
         date_trunc('hour', least(coalesce(refund_ts, show_start_time + to_hours(refund_after_start_h)),
                                  show_start_time + to_hours(refund_after_start_h))), 0, 0, 0, 1
  FROM query_table(outcomes) WHERE ticket_ts IS NOT NULL AND show_start_time IS NOT NULL)
WHERE partner_code IS NOT NULL
GROUP BY ALL;
