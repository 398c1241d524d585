-- table_stats: rows and time span of each table (for logs://schema).
SELECT 'application_logs' AS table, count() AS rows,
       toUnixTimestamp64Milli(min(timestamp)) AS first_ms, toUnixTimestamp64Milli(max(timestamp)) AS last_ms
FROM application_logs
UNION ALL
SELECT 'slow_queries', count(), toUnixTimestamp64Milli(min(timestamp)), toUnixTimestamp64Milli(max(timestamp))
FROM slow_queries
