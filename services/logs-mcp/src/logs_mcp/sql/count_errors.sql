-- count_errors: ERROR lines in the window, grouped by service, host or signature (the normalized message),
-- with the totals over every group (computed before the LIMIT). The inner query reads the minute_counts
-- projection (counts per minute), not the lines.
SELECT
    multiIf({group_by:String} = 'service', service, {group_by:String} = 'host', host, signature) AS key,
    sum(lines) AS errors,
    toUnixTimestamp64Milli(min(first_seen)) AS first_ms,
    toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
    groupUniqArray(100)(service) AS services,
    groupUniqArray(100)(host) AS hosts,
    uniqExact(host) AS host_count,
    sum(sum(lines)) OVER () AS total_errors,
    count() OVER () AS total_groups
FROM
(
    SELECT service, host, signature, count() AS lines, min(timestamp) AS first_seen, max(timestamp) AS last_seen
    FROM $source
    WHERE toStartOfMinute(timestamp) >= {since:DateTime64(3, 'UTC')}
      AND toStartOfMinute(timestamp) <= {until:DateTime64(3, 'UTC')}
      AND level = 'ERROR'
    GROUP BY service, host, signature
)
GROUP BY key
ORDER BY errors DESC, key
LIMIT {limit:UInt32}
