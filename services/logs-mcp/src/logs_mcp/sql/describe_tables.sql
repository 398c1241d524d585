-- describe_tables: the columns of the logs tables with their types and comments (for logs://schema).
SELECT table, name, type, comment
FROM system.columns
WHERE database = currentDatabase() AND table IN ('application_logs', 'slow_queries')
ORDER BY table, position
