-- source_stats: rows and time span of the configured source (for logs://schema).
SELECT count() AS rows, toUnixTimestamp64Milli(min(timestamp)) AS first_ms, toUnixTimestamp64Milli(max(timestamp)) AS last_ms
FROM $source
