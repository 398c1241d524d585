-- trace_transaction: every line of one trace, oldest first. The bloom filter on trace_id skips every granule
-- that cannot hold it, so this reads a few granules instead of the table.
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
WHERE trace_id = {trace_id:String}
ORDER BY timestamp, service
LIMIT {limit:UInt32}
