-- log_patterns: signatures (message templates) with their counts in the window and in the window before it
-- (same length), optionally one service and level; new templates first. Totals are computed before the
-- LIMIT. The innermost query reads the minute_counts projection.
SELECT
    service,
    level,
    signature,
    current,
    previous,
    first_ms,
    last_ms,
    count() OVER () AS total_templates,
    countIf(previous = 0) OVER () AS new_templates,
    previous_total
FROM
(
    SELECT
        service,
        level,
        signature,
        sumIf(lines, minute >= {since:DateTime64(3, 'UTC')}) AS current,
        sumIf(lines, minute < {since:DateTime64(3, 'UTC')}) AS previous,
        toUnixTimestamp64Milli(minIf(first_seen, minute >= {since:DateTime64(3, 'UTC')})) AS first_ms,
        toUnixTimestamp64Milli(maxIf(last_seen, minute >= {since:DateTime64(3, 'UTC')})) AS last_ms,
        sum(previous) OVER () AS previous_total
    FROM
    (
        SELECT
            toStartOfMinute(timestamp) AS minute,
            service,
            level,
            signature,
            count() AS lines,
            min(timestamp) AS first_seen,
            max(timestamp) AS last_seen
        FROM application_logs
        WHERE toStartOfMinute(timestamp) >= {previous_since:DateTime64(3, 'UTC')}
          AND toStartOfMinute(timestamp) <= {until:DateTime64(3, 'UTC')}
          AND ({service:String} = '' OR service = {service:String})
          AND ({level:String} = '' OR level = {level:String})
        GROUP BY minute, service, level, signature
    )
    GROUP BY service, level, signature
)
WHERE current > 0
ORDER BY previous = 0 DESC, current DESC, service, level, signature
LIMIT {limit:UInt32}
