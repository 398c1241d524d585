-- list_services: lines per service, host and level in the window and the window before it.
-- Reads the minute_counts projection.
SELECT
    service,
    host,
    level,
    sumIf(lines, minute >= {since:DateTime64(3, 'UTC')}) AS current,
    sumIf(lines, minute < {since:DateTime64(3, 'UTC')}) AS previous,
    toUnixTimestamp64Milli(max(last_seen)) AS last_ms
FROM
(
    SELECT toStartOfMinute(timestamp) AS minute, service, host, level, count() AS lines, max(timestamp) AS last_seen
    FROM $source
    WHERE toStartOfMinute(timestamp) >= {previous_since:DateTime64(3, 'UTC')}
      AND toStartOfMinute(timestamp) <= {until:DateTime64(3, 'UTC')}
    GROUP BY minute, service, host, level
)
GROUP BY service, host, level
