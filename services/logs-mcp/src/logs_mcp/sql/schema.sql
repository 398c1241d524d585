-- The logs-mcp schema. Applied idempotently by whoever writes the logs (`logs_mcp.store.apply_schema`, which
-- the lab's seeder calls); the MCP server only reads. README.md ("Schema") explains the choices.

-- log_signature(message), the function the `signature` column defaults to, is created first from
-- signature_rules.sql (`logs_mcp.patterns.signature_function`).

CREATE TABLE IF NOT EXISTS application_logs
(
    timestamp DateTime64(3, 'UTC') CODEC(Delta, LZ4) COMMENT 'when the line was written (UTC, milliseconds)',
    service LowCardinality(String) COMMENT 'the service that wrote the line, e.g. payment-gateway',
    level LowCardinality(String) COMMENT 'ERROR, WARN, INFO or DEBUG',
    host LowCardinality(String) COMMENT 'hostname the process reported; in Kubernetes the pod name',
    pod LowCardinality(String) COMMENT 'Kubernetes pod, from the log shipper',
    namespace LowCardinality(String) COMMENT 'Kubernetes namespace',
    logger LowCardinality(String) COMMENT 'component inside the service, e.g. GC, CircuitBreaker',
    trace_id String COMMENT 'id shared by every line of one transaction across services; empty if none',
    message String COMMENT 'the log message',
    signature LowCardinality(String) DEFAULT log_signature(message)
        COMMENT 'the message with ids, numbers, hex and durations replaced: what count_errors and log_patterns group by',
    duration_ms Nullable(UInt32) COMMENT 'latency the line reports, if any',
    status_code Nullable(UInt16) COMMENT 'HTTP-style status the line reports, if any',
    -- trace_transaction: a trace's lines sit in a few granules out of thousands; the bloom filter finds them
    INDEX trace_id_bloom trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
    -- search_logs: an inverted index of the words of lowerUTF8(message); hasToken (match=word) reads the
    -- dictionary and the posting lists, not the lines (store.apply_schema falls back to a token bloom filter on a
    -- ClickHouse without text indexes)
    INDEX message_words lowerUTF8(message) TYPE text(tokenizer = 'splitByNonAlpha') GRANULARITY 64,
    -- count_errors, error_timeline, log_patterns, list_services: counts per minute instead of per line
    PROJECTION minute_counts
    (
        SELECT toStartOfMinute(timestamp), service, level, host, signature, count(), min(timestamp), max(timestamp)
        GROUP BY toStartOfMinute(timestamp), service, level, host, signature
    )
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY timestamp
TTL toDateTime(timestamp) + INTERVAL 30 DAY
SETTINGS ttl_only_drop_parts = 1
COMMENT 'application log lines, one row per line';

-- a store made before the word index gets it (new parts are indexed; the lab's re-seed rewrites every part)
ALTER TABLE application_logs ADD INDEX IF NOT EXISTS message_words lowerUTF8(message) TYPE text(tokenizer = 'splitByNonAlpha') GRANULARITY 64;
ALTER TABLE application_logs DROP INDEX IF EXISTS message_tokens;

CREATE TABLE IF NOT EXISTS slow_queries
(
    timestamp DateTime64(3, 'UTC') COMMENT 'when the database logged the query (on completion)',
    service LowCardinality(String) COMMENT 'the service whose query it was',
    pod LowCardinality(String) COMMENT 'the client pod that issued it',
    query String COMMENT 'the query text as the database logged it',
    duration_ms UInt32 COMMENT 'how long it ran',
    rows_examined UInt64 COMMENT 'rows the database examined'
)
ENGINE = MergeTree
ORDER BY timestamp
TTL toDateTime(timestamp) + INTERVAL 30 DAY
COMMENT 'database queries slower than the logging threshold';
