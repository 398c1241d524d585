-- search_logs: the newest lines in the window, optionally one service and level, optionally containing the
-- keyword. The keyword slot holds one of two conditions (queries.KEYWORD_CONDITIONS), or nothing:
--   match=word:      one `hasToken(lowerUTF8(message), {tokenN:String})` per word of the keyword (each a whole word
--                    of the line: the message index answers these without reading the lines), and the keyword as a
--                    case-insensitive substring (positionCaseInsensitiveUTF8, which the index does not analyse);
--   match=substring: lowerUTF8(message) LIKE {pattern}, the keyword with %, _ and \ escaped.
-- ORDER BY timestamp DESC reads the table (sorted by timestamp) backwards and stops at the limit.
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
$keyword
ORDER BY timestamp $direction
LIMIT {limit:UInt32}
