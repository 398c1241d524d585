-- get_slow_queries: database queries at least {min_duration_ms} long in the window, slowest first.
SELECT
    toUnixTimestamp64Milli(timestamp) AS ts_ms,
    service,
    pod,
    query,
    duration_ms,
    rows_examined
FROM slow_queries
WHERE timestamp >= {since:DateTime64(3, 'UTC')}
  AND timestamp <= {until:DateTime64(3, 'UTC')}
  AND duration_ms >= {min_duration_ms:UInt32}
  AND ({service:String} = '' OR service = {service:String})
ORDER BY duration_ms DESC, timestamp DESC
LIMIT {limit:UInt32}
