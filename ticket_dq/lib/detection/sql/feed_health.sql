-- requires: partner_snapshots
-- cand.feed_health: FEED_LATE (no delivery within the source's SLA before $now), FEED_PARTIAL (ledger
-- rows REJECTED: manifest/sha256 mismatch, undecodable file), FEED_VOLUME_DROP (a partner snapshot far
-- below the partner's recent baseline). One row per source and business date.
-- evidence.superseded: a later complete snapshot (or crawl) of the same source replaced the faulty file.
-- evidence.current_data_as_of: when the data the source's current view rests on was delivered (its
-- latest complete snapshot / ingested crawl, or latest ingested file of other feeds). A faulty file is
-- never current, so the issues found on that older data stand (dq.issues notes the fault and the age of
-- the data in their evidence while the fault is not superseded; docs/detection.md "Inhibition by cause").
CREATE OR REPLACE TEMP TABLE candidates_new AS
WITH last AS (
  SELECT feed, source, max(coalesce(snapshot_ts, ingested_at)) AS last_ts, count(*) AS files
  FROM meta.ingested_files WHERE feed IN ('partner_schedule', 'competitor_schedule', 'orders') GROUP BY ALL
), late AS (
  SELECT * FROM last
  WHERE last_ts < CAST($now AS TIMESTAMP) - to_minutes(CASE feed WHEN 'partner_schedule' THEN $partner_sla_min
                                                  WHEN 'orders' THEN $orders_sla_min ELSE $platform_sla_min END)
), partial AS (
  SELECT feed, source, folder_date, list(file ORDER BY file) AS files, list(reason ORDER BY file) AS reasons,
         sum(rows_manifest) AS rows_manifest, max(snapshot_ts) AS last_ts
  FROM meta.ingested_files WHERE status = 'REJECTED' GROUP BY ALL
), drop_ AS (
  SELECT source, folder_date, list(file ORDER BY file) AS files, min(rows_ingested) AS rows_ingested,
         max(baseline) AS baseline, min(snapshot_ts) AS snapshot_ts, max(snapshot_ts) AS last_ts
  FROM partner_snapshots WHERE NOT complete GROUP BY ALL
), current_data AS (
  SELECT 'partner_schedule' AS feed, source, max(snapshot_ts) AS data_ts FROM partner_snapshots WHERE complete GROUP BY ALL
  UNION ALL
  SELECT feed, source, max(coalesce(snapshot_ts, ingested_at)) FROM meta.ingested_files
  WHERE feed <> 'partner_schedule' AND status = 'INGESTED' GROUP BY ALL
), superseded AS (  -- complete snapshots / crawls: a later one replaces the faulty file as the current view
  SELECT 'partner_schedule' AS feed, source, snapshot_ts FROM partner_snapshots WHERE complete
  UNION ALL
  SELECT feed, source, snapshot_ts FROM meta.ingested_files WHERE feed = 'competitor_schedule' AND status = 'INGESTED'
)
SELECT 'FEED_LATE' AS category, 'silent' AS rule, source, NULL::VARCHAR AS cinema_code,
       CAST(CAST($now AS TIMESTAMP) AS DATE) AS business_date, NULL::TIMESTAMP AS show_start_time,
       NULL::VARCHAR AS order_id, NULL::VARCHAR AS pickup_code, NULL::INTEGER AS affected_orders,
       NULL::BIGINT AS impact_fen, strftime(CAST(CAST($now AS TIMESTAMP) AS DATE), '%Y-%m-%d') AS business_key,
       format('{} has delivered no {} since {} ({} minutes ago); its data may be out of date.', source, feed,
              strftime(last_ts, '%Y-%m-%d %H:%M'),
              CAST(date_diff('minute', last_ts, CAST($now AS TIMESTAMP)) AS BIGINT)) AS reason,
       json_object('feed', feed, 'last_delivery', last_ts, 'now', CAST($now AS TIMESTAMP),
                   'current_data_as_of', (SELECT c.data_ts FROM current_data c WHERE c.feed = late.feed
                                                                                 AND c.source = late.source)) AS evidence
FROM late
UNION ALL
SELECT 'FEED_PARTIAL', 'manifest_mismatch', source, NULL, folder_date, NULL, NULL, NULL, NULL, NULL,
       strftime(folder_date, '%Y-%m-%d'),
       format('{} delivered {} {} file(s) for {} that could not be loaded (incomplete or corrupt delivery).',
              source, len(files), feed, strftime(folder_date, '%Y-%m-%d')),
       json_object('feed', feed, 'files', files, 'reasons', reasons, 'rows_manifest', rows_manifest, 'snapshot_ts', last_ts,
                   'current_data_as_of', (SELECT c.data_ts FROM current_data c WHERE c.feed = partial.feed
                                                                                 AND c.source = partial.source),
                   'superseded', EXISTS (SELECT 1 FROM superseded s WHERE s.feed = partial.feed AND s.source = partial.source
                                                                      AND s.snapshot_ts > partial.last_ts))
FROM partial
UNION ALL
SELECT 'FEED_VOLUME_DROP', 'volume_drop', source, NULL, folder_date, NULL, NULL, NULL, NULL, NULL,
       strftime(folder_date, '%Y-%m-%d'),
       format('{} sent a schedule snapshot with only {} rows against a usual {}; it is not used as current.',
              source, rows_ingested, CAST(baseline AS BIGINT)),
       json_object('feed', 'partner_schedule', 'files', files, 'rows', rows_ingested, 'baseline_rows', baseline,
                   'snapshot_ts', snapshot_ts,
                   'current_data_as_of', (SELECT c.data_ts FROM current_data c WHERE c.feed = 'partner_schedule'
                                                                                 AND c.source = drop_.source),
                   'superseded', EXISTS (SELECT 1 FROM superseded s WHERE s.feed = 'partner_schedule'
                                                                      AND s.source = drop_.source AND s.snapshot_ts > drop_.last_ts))
FROM drop_;
