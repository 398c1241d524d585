-- search_logs: the newest lines in the window, optionally one service and level, optionally containing the
-- keyword. {pattern} is the keyword as a LIKE pattern with %, _ and \ escaped ('' = no keyword), compared
-- lowercased on both sides: a literal, case-insensitive substring match. ORDER BY timestamp DESC reads the
-- table (sorted by timestamp) backwards and stops at the limit.
SELECT
    toUnixTimestamp64Milli(timestamp) AS ts_ms,
    service,
    level,
    host,
    pod,
    namespace,
    logger,
    trace_id,
    message,
    duration_ms,
    status_code
FROM $source
WHERE timestamp >= {since:DateTime64(3, 'UTC')}
  AND timestamp <= {until:DateTime64(3, 'UTC')}
  AND ({service:String} = '' OR service = {service:String})
  AND ({level:String} = '' OR level = {level:String})
  AND ({pattern:String} = '' OR lowerUTF8(message) LIKE lowerUTF8({pattern:String}))
ORDER BY timestamp $direction
LIMIT {limit:UInt32}
