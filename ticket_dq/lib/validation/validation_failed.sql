-- cand.validation_failed: VALIDATION_FAILED candidates, one per source x rule x business (feed) date.
-- $rules: names of rules whose failures are issues (others are reported elsewhere, e.g. compare).
-- Rule failures come from the stored history, so each ingested file counts once however many
-- incremental runs there were; quarantined rows (raw.quarantine, line-level) become rule row_parse.
WITH rule_failures AS (
    SELECT
        expectation AS rule,
        source,
        business_date,
        list(DISTINCT asset ORDER BY asset) AS assets,
        sum(unexpected_count) AS unexpected,
        sum(element_count) AS elements,
        flatten(list(CAST(sample_keys AS JSON[]) ORDER BY validated_at, source))[1:5] AS samples,
        max(severity) AS severity
    FROM dq.validation_results
    WHERE unexpected_count > 0 AND list_contains($rules, expectation)
    GROUP BY ALL
),
parse_failures AS (
    SELECT
        'row_parse' AS rule,
        source,
        TRY_CAST(regexp_extract(ingest_file, '(\d{4}-\d{2}-\d{2})/[^/]+$', 1) AS DATE) AS business_date,
        list(DISTINCT 'raw.' || feed ORDER BY 'raw.' || feed) AS assets,
        count(*) AS unexpected,
        CAST(NULL AS BIGINT) AS elements,
        -- file, line and reason only: raw_text may hold a mobile number and never leaves raw.quarantine
        list(to_json({'file': ingest_file, 'line': ingest_line, 'reason': reason}) ORDER BY ingest_file, ingest_line)[1:5] AS samples,
        'WARN' AS severity
    FROM raw.quarantine
    WHERE ingest_line IS NOT NULL
    GROUP BY ALL
),
failures AS (
    SELECT * FROM rule_failures
    UNION ALL BY NAME
    SELECT * FROM parse_failures
)
SELECT
    'VALIDATION_FAILED' AS category,
    rule,
    source,
    CAST(NULL AS VARCHAR) AS cinema_code,
    business_date,
    CAST(NULL AS TIMESTAMP) AS show_start_time,
    CAST(NULL AS VARCHAR) AS order_id,
    CAST(NULL AS VARCHAR) AS pickup_code,
    CAST(NULL AS INTEGER) AS affected_orders,
    CAST(NULL AS BIGINT) AS impact_fen,
    rule || '|' || coalesce(CAST(business_date AS VARCHAR), '') AS business_key,
    CASE WHEN rule = 'row_parse'
        THEN format('{} sent {} row(s) on {} that could not be used (unparseable values or keys) and were quarantined ({})',
                    source, unexpected, coalesce(CAST(business_date AS VARCHAR), 'an unknown date'), array_to_string(assets, ', '))
        ELSE format('{} sent {} row(s) of {} on {} that break rule {}{}',
                    source, unexpected, array_to_string(assets, ', '), coalesce(CAST(business_date AS VARCHAR), 'an unknown date'), rule,
                    CASE WHEN elements > 0 THEN format(' ({:.2f}% of {} rows)', 100.0 * unexpected / elements, elements) ELSE '' END)
    END AS reason,
    to_json({
        'rule': rule, 'assets': assets, 'unexpected_count': unexpected, 'element_count': elements,
        'severity': severity, 'sample_keys': samples
    }) AS evidence
FROM failures
ORDER BY source, business_date, rule
