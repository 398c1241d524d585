-- pattern_examples: one message per (signature, last_seen) pair, found through the primary key (timestamp).
SELECT signature, any(message) AS example
FROM $source
WHERE timestamp IN {last_seen:Array(DateTime64(3, 'UTC'))}
  AND signature IN {signatures:Array(String)}
GROUP BY signature
