-- Every ingested partner snapshot with the partner's recent baseline (median rows of the previous
-- $baseline_n snapshots) and whether it is complete (rows >= $volume_ratio x baseline).
CREATE OR REPLACE TEMP TABLE partner_snapshots AS
WITH s AS (
  SELECT source, file, snapshot_ts, folder_date, rows_ingested,
         median(rows_ingested) OVER (PARTITION BY source ORDER BY snapshot_ts, file
                                     ROWS BETWEEN $baseline_n PRECEDING AND 1 PRECEDING) AS baseline
  FROM meta.ingested_files WHERE feed = 'partner_schedule' AND status = 'INGESTED'
)
SELECT *, (baseline IS NULL OR rows_ingested >= $volume_ratio * baseline) AS complete FROM s;
