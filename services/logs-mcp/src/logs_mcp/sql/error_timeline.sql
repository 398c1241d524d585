-- error_timeline: lines per bucket, level and service over the window and the one before it (the baseline),
-- optionally one service. A bucket is its start in seconds since the epoch divided by {bucket_s}: buckets sit
-- on absolute boundaries (a 15-minute bucket starts at :00, :15, :30, :45 UTC), so the same lines give the
-- same buckets whenever the tool runs. Whole minutes: this reads the minute_counts projection, not the lines.
SELECT
    intDiv(toUnixTimestamp(toStartOfMinute(timestamp)), {bucket_s:UInt32}) AS bucket,
    level,
    service,
    count() AS lines
FROM $source
WHERE toStartOfMinute(timestamp) >= {since:DateTime64(3, 'UTC')}
  AND toStartOfMinute(timestamp) <= {until:DateTime64(3, 'UTC')}
  AND ({service:String} = '' OR service = {service:String})
GROUP BY bucket, level, service
