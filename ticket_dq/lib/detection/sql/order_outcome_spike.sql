-- cand.order_outcome_spike (ORDER_OUTCOME_SPIKE): partner-hours (or show-hours) whose issue-failure or refund
-- rate is far above the partner's own trailing baseline (rule and thresholds: lib/detection/outcome_rules.py and
-- docs/detection.md). Kinds:
--   issue_failure  k = orders whose first issuing outcome in the hour was ISSUE_FAILED, n = all first outcomes;
--   refund         k = refunds of issued orders in the hour, n = the issued orders exposed in it (live at its
--                  start or issued during it): a refund hazard, whatever the hour's issuing did. A refund
--                  after a failed issue is the failure's consequence, not a second signal.
-- Per show (a show moved at the cinema is seen only through its refunds): issue_failure n = the show's
-- outcomes in the hour; refund n = the show's issued orders exposed in the hour, against the partner's
-- refunds per issued order (a bound on any one hour's share). A show row is reported when its partner-hour is no spike or when
-- the show carries $show_share of it; a partner row unless one show carries it.
-- Hours before the closed-history boundary are final (lib/closed_orders.py; candidates.CLOSED_HISTORY).
-- requires: outcome_cells
CREATE OR REPLACE TEMP MACRO spike_score(k, n, p) AS
  CASE WHEN n <= 0 OR p <= 0 OR k * 1.0 / n <= p THEN 0.0
       ELSE n * ((k * 1.0 / n) * ln((k * 1.0 / n) / p)
                 + CASE WHEN k >= n THEN 0.0 ELSE (1 - k * 1.0 / n) * ln((1 - k * 1.0 / n) / (1 - p)) END) END;
CREATE OR REPLACE TEMP TABLE sp_horizon AS
SELECT least(CAST($now AS TIMESTAMP), orders_seen_until()) AS horizon;
CREATE OR REPLACE TEMP TABLE sp_ev AS  -- the live orders' hour events (for the shows hit), hit = counted in k
SELECT * FROM (
  SELECT 'issue_failure' AS kind, partner_code, date_trunc('hour', first_outcome_ts) AS hour, cinema_code, show_code,
         show_start_time, film_name, order_id, total_fen, first_outcome = 'ISSUE_FAILED' AS hit
  FROM cur.order_outcome WHERE first_outcome_ts IS NOT NULL
  UNION ALL
  SELECT 'refund', partner_code, date_trunc('hour', refund_ts), cinema_code, show_code, show_start_time, film_name,
         order_id, total_fen, true
  FROM cur.order_outcome
  WHERE ticket_ts <= refund_ts AND refund_ts < show_start_time + to_hours($refund_after_start_h)
) WHERE hour <= (SELECT horizon FROM sp_horizon) AND partner_code IS NOT NULL;
-- the cells: live orders' counts plus the closed orders' (carried in hist.outcome_cells), so a baseline
-- reaches back $baseline_days whatever has been archived
CREATE OR REPLACE TEMP TABLE sp_counts AS
SELECT kind, partner_code, hour, sum(n) AS n, sum(k) AS k, sum(entries) AS entries, sum(exits) AS exits
FROM (SELECT * FROM outcome_cells('cur.order_outcome', $refund_after_start_h)
      UNION ALL SELECT kind, partner_code, hour, n, k, entries, exits FROM hist.outcome_cells)
GROUP BY ALL;
-- refund exposure: an issued order is live from its ticket until it is refunded or its show has started
-- $refund_after_start_h ago; n of a refund hour = orders live at its start + orders issued during it
CREATE OR REPLACE TEMP TABLE sp_live AS
SELECT partner_code, hour, entries, k,
       coalesce(sum(entries - exits) OVER (PARTITION BY partner_code ORDER BY hour
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) + entries AS exposed
FROM sp_counts WHERE kind = 'refund' AND (entries > 0 OR exits > 0);
CREATE OR REPLACE TEMP TABLE sp_cell AS
SELECT kind, partner_code, hour, n, k, 0 AS issued
FROM sp_counts WHERE kind = 'issue_failure' AND hour <= (SELECT horizon FROM sp_horizon)
UNION ALL
SELECT 'refund', partner_code, hour, greatest(exposed, k), k, entries
FROM sp_live WHERE hour <= (SELECT horizon FROM sp_horizon);
-- baselines: the previous $baseline_days before the hour (never the hour itself), judged only once the partner
-- has $min_history_h hours of history (a baseline of the first hours of data is a warm-up); a thin history is
-- pulled towards all partners' rate (itself floored at 1 in 50 when there is no history at all). p_ever:
-- refunds per issued order, the bound a single show's refunds in one hour are judged against.
CREATE OR REPLACE TEMP TABLE sp_base AS
WITH pool AS (
  SELECT kind, hour, sum(sum(k)) OVER w AS k_prev, sum(sum(n)) OVER w AS n_prev, sum(sum(issued)) OVER w AS i_prev
  FROM sp_cell GROUP BY kind, hour
  WINDOW w AS (PARTITION BY kind ORDER BY hour RANGE BETWEEN to_days(CAST($baseline_days AS INTEGER)) PRECEDING
                                                     AND INTERVAL 1 HOUR PRECEDING)
), own AS (
  SELECT *, sum(k) OVER w AS k_prev, sum(n) OVER w AS n_prev, sum(issued) OVER w AS i_prev,
         min(hour) OVER (PARTITION BY kind, partner_code) AS first_hour
  FROM sp_cell
  WINDOW w AS (PARTITION BY kind, partner_code ORDER BY hour RANGE BETWEEN to_days(CAST($baseline_days AS INTEGER)) PRECEDING
                                                                   AND INTERVAL 1 HOUR PRECEDING)
)
SELECT own.kind, own.partner_code, own.hour, own.n, own.k, coalesce(own.n_prev, 0) AS n_prev, coalesce(own.k_prev, 0) AS k_prev,
       own.hour >= own.first_hour + to_hours($min_history_h) AS judged,
       (coalesce(own.k_prev, 0) + $prior_weight * (coalesce(pool.k_prev, 0) + 1.0) / (coalesce(pool.n_prev, 0) + 50.0))
         / (coalesce(own.n_prev, 0) + $prior_weight) AS p0,
       (coalesce(own.k_prev, 0) + $prior_weight * (coalesce(pool.k_prev, 0) + 1.0) / (coalesce(pool.i_prev, 0) + 50.0))
         / (coalesce(own.i_prev, 0) + $prior_weight) AS p_ever
FROM own JOIN pool USING (kind, hour);
CREATE OR REPLACE TEMP TABLE sp_partner AS
SELECT *, k * 1.0 / n AS rate, spike_score(k, n, p0) AS score,
       judged AND spike_score(k, n, p0) >= $min_score AND k >= $min_count AND k * 1.0 / n >= $ratio_floor * p0 AS spike
FROM sp_base;
CREATE OR REPLACE TEMP TABLE sp_show AS
WITH hits AS (
  SELECT kind, partner_code, hour, cinema_code, show_code, any_value(show_start_time) AS show_start_time,
         any_value(film_name) AS film_name, count(*) FILTER (WHERE hit) AS k, count(*) AS n_events,
         list(order_id ORDER BY order_id) FILTER (WHERE hit) AS orders, sum(total_fen) FILTER (WHERE hit) AS fen
  FROM sp_ev GROUP BY kind, partner_code, hour, cinema_code, show_code
  HAVING count(*) FILTER (WHERE hit) >= $min_count
), sized AS (
  SELECT h.*, CASE WHEN h.kind = 'issue_failure' THEN h.n_events
                   ELSE (SELECT count(*) FROM cur.order_outcome o
                         WHERE o.partner_code = h.partner_code AND o.cinema_code = h.cinema_code AND o.show_code = h.show_code
                           AND o.ticket_ts < h.hour + INTERVAL 1 HOUR AND (o.refund_ts IS NULL OR o.refund_ts >= h.hour)) END AS n,
         CASE WHEN h.kind = 'issue_failure' THEN p.p0 ELSE least(p.p_ever, 0.5) END AS p_show,
         p.spike AS partner_spike, p.k AS partner_k, p.p0 AS partner_p0, p.judged
  FROM hits h JOIN sp_partner p USING (kind, partner_code, hour)
)
SELECT *, k * 1.0 / n AS rate, spike_score(k, n, p_show) AS score FROM sized
WHERE judged AND n > 0 AND k >= $min_count AND k * 1.0 / n >= $ratio_floor * p_show AND spike_score(k, n, p_show) >= $min_score
  AND (NOT partner_spike OR k >= $show_share * partner_k);
-- schedule issues at the same cinema and show time (within 10 min), linked in evidence
CREATE OR REPLACE TEMP TABLE sp_sched AS
SELECT DISTINCT substr(md5(category || '|' || coalesce(source, '') || '|' || coalesce(business_key, '')), 1, 16) AS issue_id, -- lib.issues.ISSUE_ID_SQL
       category, source, cinema_code,
       coalesce(TRY_CAST(json_extract_string(evidence, '$.order.start') AS TIMESTAMP), show_start_time) AS start_ts
FROM (SELECT * FROM cand.schedule_discrepancy UNION ALL SELECT * FROM cand.schedule_integrity
      UNION ALL SELECT * FROM cand.order_show)
WHERE cinema_code IS NOT NULL AND show_start_time IS NOT NULL;
CREATE OR REPLACE TEMP TABLE sp_links AS
SELECT s.kind, s.partner_code, s.hour, s.cinema_code, s.show_code,
       list(DISTINCT c.issue_id ORDER BY c.issue_id) FILTER (WHERE c.issue_id IS NOT NULL) AS issue_ids,
       list(DISTINCT c.category ORDER BY c.category) FILTER (WHERE c.issue_id IS NOT NULL) AS categories
FROM (SELECT kind, partner_code, hour, cinema_code, show_code, any_value(show_start_time) AS show_start_time
      FROM sp_ev WHERE hit GROUP BY ALL) s
LEFT JOIN sp_sched c ON c.cinema_code = s.cinema_code AND abs(date_diff('second', c.start_ts, s.show_start_time)) <= 600
WHERE (s.kind, s.partner_code, s.hour) IN (SELECT (kind, partner_code, hour) FROM sp_partner WHERE spike)
   OR (s.kind, s.partner_code, s.hour, s.cinema_code, s.show_code) IN
      (SELECT (kind, partner_code, hour, cinema_code, show_code) FROM sp_show)
GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE sp_top AS
SELECT kind, partner_code, hour,
       list(json_object('cinema_code', cinema_code, 'show_code', show_code, 'start', show_start_time, 'film', film_name,
                        'events', k, 'schedule_issues', coalesce(issue_ids, []))
            ORDER BY k DESC, cinema_code, show_code)[1:3] AS top_shows,
       list(orders) AS order_lists, sum(fen) AS fen
FROM (SELECT e.kind, e.partner_code, e.hour, e.cinema_code, e.show_code, any_value(e.show_start_time) AS show_start_time,
             any_value(e.film_name) AS film_name, count(*) AS k, list(e.order_id) AS orders, sum(e.total_fen) AS fen,
             any_value(l.issue_ids) AS issue_ids
      FROM sp_ev e LEFT JOIN sp_links l USING (kind, partner_code, hour, cinema_code, show_code)
      WHERE e.hit AND (e.kind, e.partner_code, e.hour) IN (SELECT (kind, partner_code, hour) FROM sp_partner WHERE spike)
      GROUP BY ALL)
GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE candidates_new AS
SELECT 'ORDER_OUTCOME_SPIKE' AS category, s.kind AS rule, s.partner_code AS source, s.cinema_code,
       CAST(s.show_start_time - INTERVAL 6 HOUR AS DATE) AS business_date, s.show_start_time, NULL::VARCHAR AS order_id,
       NULL::VARCHAR AS pickup_code, CAST(s.k AS INTEGER) AS affected_orders, s.fen AS impact_fen,
       strftime(s.hour, '%Y-%m-%d %H:00') || '|' || s.kind || '|' || s.cinema_code || '|' || s.show_code AS business_key,
       format('{} show of {} at cinema {} ({}): {} of its {} orders {} in the hour from {} ({}%, usual {}%){}.',
              strftime(s.show_start_time, '%m-%d %H:%M'), s.film_name, s.cinema_code, s.partner_code, s.k, s.n,
              CASE s.kind WHEN 'refund' THEN 'were refunded' ELSE 'failed to issue' END, strftime(s.hour, '%m-%d %H:00'),
              printf('%.1f', 100 * s.rate), printf('%.1f', 100 * s.p_show),
              CASE WHEN len(coalesce(l.issue_ids, [])) > 0 THEN format(' - the show also has {} issue(s): {}',
                                                                       len(l.issue_ids), array_to_string(l.categories, ', '))
                   WHEN s.kind = 'refund' THEN ' - the show may have changed at the cinema without any feed saying so'
                   ELSE '' END) AS reason,
       json_object('kind', s.kind, 'level', 'show', 'hour', s.hour, 'event_at', s.hour, 'rate', round(s.rate, 4),
                   'baseline', round(s.p_show, 5), 'count', s.k, 'volume', s.n, 'ratio', round(s.rate / s.p_show, 1),
                   'score', round(s.score, 2), 'tail_bound', exp(-s.score), 'partner_hour_spike', s.partner_spike,
                   'orders', s.orders, 'top_shows', [json_object('cinema_code', s.cinema_code, 'show_code', s.show_code,
                                                                 'start', s.show_start_time, 'film', s.film_name, 'events', s.k,
                                                                 'schedule_issues', coalesce(l.issue_ids, []))],
                   'schedule_issues', coalesce(l.issue_ids, [])) AS evidence
FROM sp_show s LEFT JOIN sp_links l USING (kind, partner_code, hour, cinema_code, show_code)
UNION ALL
SELECT 'ORDER_OUTCOME_SPIKE', p.kind, p.partner_code, NULL, CAST(p.hour AS DATE), NULL, NULL, NULL, CAST(p.k AS INTEGER),
       t.fen, strftime(p.hour, '%Y-%m-%d %H:00') || '|' || p.kind,
       format('{}: {} of {} orders {} in the hour from {} ({}%, against a usual {}% for this partner; {} show(s) hit).',
              p.partner_code, p.k, p.n, CASE p.kind WHEN 'refund' THEN 'were refunds' ELSE 'failed to issue' END,
              strftime(p.hour, '%m-%d %H:00'), printf('%.1f', 100 * p.rate), printf('%.1f', 100 * p.p0),
              (SELECT count(*) FROM sp_links l WHERE l.kind = p.kind AND l.partner_code = p.partner_code AND l.hour = p.hour)),
       json_object('kind', p.kind, 'level', 'partner', 'hour', p.hour, 'event_at', p.hour, 'rate', round(p.rate, 4),
                   'baseline', round(p.p0, 5), 'count', p.k, 'volume', p.n, 'ratio', round(p.rate / p.p0, 1),
                   'score', round(p.score, 2), 'tail_bound', exp(-p.score),
                   'baseline_volume', p.n_prev, 'top_shows', t.top_shows,
                   'schedule_issues', coalesce((SELECT list(DISTINCT x ORDER BY x) FROM (
                       SELECT unnest(l.issue_ids) AS x FROM sp_links l
                       WHERE l.kind = p.kind AND l.partner_code = p.partner_code AND l.hour = p.hour)), [])) AS evidence
FROM sp_partner p LEFT JOIN sp_top t USING (kind, partner_code, hour)
WHERE p.spike AND NOT EXISTS (SELECT 1 FROM sp_show s WHERE s.kind = p.kind AND s.partner_code = p.partner_code
                                                        AND s.hour = p.hour AND s.k >= $show_share * p.k);
