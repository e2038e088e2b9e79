-- dq.issues: candidates of this run (TEMP cand_all) merged with the previous dq.issues and the
-- handlers' status (TEMP handler_state). The brace placeholders are expressions from lib/issues.py.
-- Warehouses created before these two columns joined lib/warehouse.py's DDL gain them here.
ALTER TABLE dq.issues ADD COLUMN IF NOT EXISTS reopened_at TIMESTAMP;
ALTER TABLE dq.issues ADD COLUMN IF NOT EXISTS resolution_reason VARCHAR;
CREATE OR REPLACE TEMP TABLE det AS
SELECT * EXCLUDE (rn) FROM (
  SELECT *, {issue_id} AS issue_id,
         date_diff('minute', CAST($now AS TIMESTAMP), show_start_time) / 60.0 AS hours_to_show,
         row_number() OVER (PARTITION BY {issue_id} ORDER BY coalesce(affected_orders, 0) DESC, show_start_time) AS rn
  FROM cand_all WHERE category IS NOT NULL) WHERE rn = 1;
CREATE OR REPLACE TEMP TABLE det2 AS
SELECT d.*, {severity} AS severity, {team} AS team,
       (SELECT min(f.issue_id) FROM det f WHERE f.category IN {inhibiting} AND f.source = d.source
          AND f.business_date = d.business_date
          -- a faulty snapshot a later complete one superseded no longer inhibits (feed_health.sql)
          AND coalesce(TRY_CAST(json_extract_string(f.evidence, '$.inhibits') AS BOOLEAN), true)) AS suppressed_by_feed,
       {orders_feed_fault} AS suppressed_by_orders_feed
FROM det d;
CREATE OR REPLACE TEMP TABLE merged AS
WITH cur AS (
  SELECT *, CASE WHEN category IN {show_level} AND suppressed_by_feed IS NOT NULL THEN suppressed_by_feed
                 ELSE suppressed_by_orders_feed END AS suppressed_by
  FROM det2
), j AS (
  SELECT c.issue_id AS c_id, p.issue_id AS p_id, c.*, p AS prev
  FROM cur c FULL JOIN dq.issues p ON p.issue_id = c.issue_id
), d AS (
  SELECT coalesce(c_id, p_id) AS id, j.*,
         CASE WHEN c_id IS NULL THEN 'RESOLVED' WHEN suppressed_by IS NOT NULL THEN 'SUPPRESSED' ELSE 'OPEN' END AS det_status,
         CASE WHEN c_id IS NOT NULL AND prev.detection_status = 'RESOLVED' THEN CAST($now AS TIMESTAMP)
              ELSE prev.reopened_at END AS reopened
  FROM j
)
SELECT d.id AS issue_id,
       coalesce(d.category, d.prev.category) AS category, coalesce(d.rule, d.prev.rule) AS rule,
       coalesce(d.severity, d.prev.severity) AS severity, coalesce(d.team, d.prev.team) AS team,
       CASE WHEN d.det_status = 'SUPPRESSED' THEN 'SUPPRESSED'
            WHEN h.status IS NULL OR (d.reopened IS NOT NULL AND h.status_at < d.reopened) THEN d.det_status
            WHEN d.det_status = 'RESOLVED' AND h.status IN ('OPEN', 'ACKNOWLEDGED', 'CONFIRMED') THEN 'RESOLVED'
            ELSE h.status END AS status,
       coalesce(d.source, d.prev.source) AS source, coalesce(d.cinema_code, d.prev.cinema_code) AS cinema_code,
       coalesce(d.business_date, d.prev.business_date) AS business_date,
       coalesce(d.show_start_time, d.prev.show_start_time) AS show_start_time,
       coalesce(d.order_id, d.prev.order_id) AS order_id, coalesce(d.pickup_code, d.prev.pickup_code) AS pickup_code,
       CASE WHEN d.c_id IS NOT NULL THEN d.affected_orders ELSE d.prev.affected_orders END AS affected_orders,
       coalesce(d.reason, d.prev.reason) AS reason, coalesce(d.evidence, d.prev.evidence) AS evidence,
       coalesce(d.prev.first_detected_at, CAST($now AS TIMESTAMP)) AS first_detected_at,
       CASE WHEN d.c_id IS NOT NULL THEN CAST($now AS TIMESTAMP) ELSE d.prev.last_detected_at END AS last_detected_at,
       d.det_status, h.status AS h_status, h.status_at AS h_status_at, h.resolution_code,
       CASE WHEN d.det_status = 'RESOLVED' THEN
              CASE WHEN d.prev.detection_status = 'RESOLVED' THEN d.prev.resolved_at ELSE CAST($now AS TIMESTAMP) END END AS det_resolved_at,
       coalesce(d.business_key, d.prev.business_key) AS business_key,
       CASE WHEN d.c_id IS NOT NULL THEN d.hours_to_show ELSE d.prev.hours_to_show END AS hours_to_show,
       coalesce(d.impact_fen, d.prev.impact_fen) AS impact_fen, d.suppressed_by,
       d.prev.status AS prev_status, d.prev.status_changed_at AS prev_changed_at, d.p_id IS NULL AS is_new,
       d.reopened AS reopened_at
FROM d LEFT JOIN handler_state h ON h.issue_id = d.id;
CREATE OR REPLACE TEMP TABLE issues_next AS
SELECT issue_id, category, rule, severity, team, status, source, cinema_code, business_date, show_start_time, order_id,
       pickup_code, affected_orders, reason, evidence, first_detected_at, last_detected_at,
       CASE WHEN status <> 'RESOLVED' THEN NULL
            WHEN h_status = 'RESOLVED' AND det_status <> 'RESOLVED' THEN h_status_at
            ELSE coalesce(det_resolved_at, h_status_at) END AS resolved_at,
       business_key, hours_to_show, impact_fen, suppressed_by, det_status AS detection_status,
       CASE WHEN prev_status IS DISTINCT FROM status THEN CAST($now AS TIMESTAMP) ELSE prev_changed_at END AS status_changed_at,
       reopened_at,
       CASE WHEN status = 'RESOLVED' AND det_status = 'RESOLVED' AND h_status IS DISTINCT FROM 'RESOLVED' THEN 'no longer detected'
            WHEN status IN ('RESOLVED', 'FALSE_POSITIVE') THEN resolution_code END AS resolution_reason,
       is_new, prev_status
FROM merged;
