-- log_patterns: signatures with their counts in the window and in the window before it (same length),
-- optionally one service and level, most frequent first; Python merges them into templates
-- (`logs_mcp.patterns.merge_signatures`). The innermost query reads the minute_counts projection.
SELECT
    service,
    level,
    signature,
    sumIf(lines, minute >= {since:DateTime64(3, 'UTC')}) AS current,
    sumIf(lines, minute < {since:DateTime64(3, 'UTC')}) AS previous,
    toUnixTimestamp64Milli(minIf(first_seen, minute >= {since:DateTime64(3, 'UTC')})) AS first_ms,
    toUnixTimestamp64Milli(maxIf(last_seen, minute >= {since:DateTime64(3, 'UTC')})) AS last_ms
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
    FROM $source
    WHERE toStartOfMinute(timestamp) >= {previous_since:DateTime64(3, 'UTC')}
      AND toStartOfMinute(timestamp) <= {until:DateTime64(3, 'UTC')}
      AND ({service:String} = '' OR service = {service:String})
      AND ({level:String} = '' OR level = {level:String})
    GROUP BY minute, service, level, signature
)
GROUP BY service, level, signature
ORDER BY current DESC, service, level, signature
LIMIT {limit:UInt32}
