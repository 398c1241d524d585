-- first_error: the oldest ERROR line of the window (optionally one service): what went wrong first.
-- ORDER BY timestamp reads the table (sorted by timestamp) forwards and stops at the first match.
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
  AND level = 'ERROR'
  AND ({service:String} = '' OR service = {service:String})
ORDER BY timestamp
LIMIT 1
