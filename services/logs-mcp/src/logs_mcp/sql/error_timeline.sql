-- error_timeline: lines per bucket, level and service over the window and the one before it (the baseline),
-- optionally one service. Buckets are whole minutes counted from {since}, so this reads the minute_counts
-- projection rather than the lines.
SELECT
    intDiv(toUnixTimestamp(toStartOfMinute(timestamp)) - toUnixTimestamp({since:DateTime64(3, 'UTC')}),
           {bucket_s:UInt32}) AS bucket,
    level,
    service,
    count() AS lines
FROM application_logs
WHERE toStartOfMinute(timestamp) >= {since:DateTime64(3, 'UTC')}
  AND toStartOfMinute(timestamp) <= {until:DateTime64(3, 'UTC')}
  AND ({service:String} = '' OR service = {service:String})
GROUP BY bucket, level, service
