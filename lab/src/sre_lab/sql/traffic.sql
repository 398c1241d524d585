-- The traffic of one chunk of requests: one INSERT … SELECT (sre_lab.traffic binds every {parameter}).
-- Innermost: one row per request (its time, pods, outcome, latencies and flow), numeric only so that ARRAY JOIN
-- copies little; then one row per step of its flow; the strings are formatted last, each line from its
-- template's parts.
INSERT INTO application_logs
    (timestamp, service, level, host, pod, namespace, logger, trace_id, message, signature, duration_ms, status_code)
SELECT
    fromUnixTimestamp64Milli(start_ms + {at_auth:Array(UInt8)}[step] * auth_ms
        + {at_fraud:Array(UInt8)}[step] * fraud_ms + {at_card:Array(UInt8)}[step] * card_ms
        + {at_ms:Array(UInt8)}[step], 'UTC') AS timestamp,
    {role_service:Array(String)}[role] AS service,
    {step_level:Array(String)}[step] AS level,
    {pod_names:Array(String)}[{pod_offset:Array(UInt8)}[role]
        + multiIf(role = 1, gateway, role = 2, auth, role = 3, fraud, card)] AS host,
    host AS pod,
    {role_namespace:Array(String)}[role] AS namespace,
    {step_logger:Array(String)}[step] AS logger,
    concat('tx-', substring(lower(hex(tx)), 1, 12)) AS trace_id,
    -- one concat() per placeholder pattern (PATTERNS): t1..t4 are the template's literal parts
    multiIf(
        pattern = 1, t1,
        pattern = 2, concat(t1, trace_id, t2),
        pattern = 3, concat(t1, toString(reported_ms), t2),
        pattern = 4, concat(t1, 'client-batch-', toString(1 + intDiv(h, 19) % 60), t2),
        pattern = 5, concat(t1, trace_id, t2, toString(reported_ms), t3),
        pattern = 6, concat(t1, trace_id, t2, toString(5 + intDiv(h, 7) % 1495), '.',
                            leftPad(toString(intDiv(h, 11) % 100), 2, '0'), t3),
        pattern = 7, concat(t1, 'm-', toString(10000 + intDiv(h, 13) % 90000), t2, toString(reported_ms), t3),
        pattern = 8, concat(t1, trace_id, t2, score, t3),
        concat(t1, score, t2, trace_id, t3, toString(reported_ms), t4)) AS message,
    {step_signature:Array(String)}[step] AS signature,
    if(duration = 0, NULL, reported_ms) AS duration_ms,
    nullIf({step_status:Array(UInt16)}[step], 0) AS status_code
FROM
(
    SELECT
        *,
        step,
        {step_role:Array(UInt8)}[step] AS role,
        {step_duration:Array(UInt8)}[step] AS duration,
        multiIf(duration = 1, auth_ms, duration = 2, fraud_ms, duration = 3, card_ms, total_ms) AS reported_ms,
        {step_pattern:Array(UInt8)}[step] AS pattern,
        {text1:Array(String)}[step] AS t1,
        {text2:Array(String)}[step] AS t2,
        {text3:Array(String)}[step] AS t3,
        {text4:Array(String)}[step] AS t4,
        concat('0.', leftPad(toString(if(fraud_kind = 1, 81 + intDiv(h, 17) % 17, 1 + intDiv(h, 17) % 35)), 2, '0'))
            AS score
    FROM
    (
        SELECT
            number AS n,
            cityHash64({seed:UInt64}, n) AS h,
            cityHash64({seed:UInt64}, n, 1) AS tx,
            intDiv(n, {per_segment:UInt64}) AS segment,
            {bounds:Array(Int64)}[segment + 1] AS slice_from,
            {bounds:Array(Int64)}[segment + 2] - slice_from AS slice_ms,
            slice_from + intDiv((n - segment * {per_segment:UInt64}) * slice_ms + h % slice_ms, {per_segment:UInt64})
                AS start_ms,
            -- one pod per role among those serving during the request's slice of the day
            {serving_flat:Array(UInt8)}[{serving_offset:Array(UInt32)}[segment * 4 + 1]
                + 1 + intDiv(h, 3) % {serving_count:Array(UInt8)}[segment * 4 + 1]] AS gateway,
            {serving_flat:Array(UInt8)}[{serving_offset:Array(UInt32)}[segment * 4 + 2]
                + 1 + intDiv(h, 5) % {serving_count:Array(UInt8)}[segment * 4 + 2]] AS auth,
            {serving_flat:Array(UInt8)}[{serving_offset:Array(UInt32)}[segment * 4 + 3]
                + 1 + intDiv(h, 7) % {serving_count:Array(UInt8)}[segment * 4 + 3]] AS fraud,
            {serving_flat:Array(UInt8)}[{serving_offset:Array(UInt32)}[segment * 4 + 4]
                + 1 + intDiv(h, 11) % {serving_count:Array(UInt8)}[segment * 4 + 4]] AS card,
            -- uniform draws in millionths, one independent hash each
            cityHash64({seed:UInt64}, n, 2) % 1000000 AS u_kind,
            cityHash64({seed:UInt64}, n, 3) % 1000000 AS u_fraud,
            cityHash64({seed:UInt64}, n, 4) % 1000000 AS u_card,
            cityHash64({seed:UInt64}, n, 5) % 1000000 AS u_extra,
            multiIf(
                u_fraud < multiIf(start_ms >= {fraud_latency_ms:Int64}, {p_miss_incident:UInt32},
                                  start_ms >= {evictions_ms:Int64}, {p_miss_evicting:UInt32},
                                  {p_miss_baseline:UInt32}), 2,
                u_fraud % 1000 * 1000 < {p_review:UInt32}, 1,
                0) AS fraud_kind,
            multiIf(
                gateway = {breaker_pod:UInt8} AND start_ms >= {breaker_ms:Int64}, 3,
                start_ms >= {timeouts_ms:Int64} AND u_card < {p_timeout:UInt32}, 2,
                u_card % 1000 * 1000 < {p_declined:UInt32}, 1,
                0) AS card_kind,
            if(u_kind < {p_auth_only:UInt32},
               1 + (u_extra < {p_token_expired:UInt32}),
               3 + ((fraud_kind * 4 + card_kind) * 2 + (u_extra < {p_debug:UInt32})) * 2
                 + (u_extra % 1000 * 1000 < {p_retry:UInt32})) AS flow,
            4 + intDiv(h, 23) % 6 AS auth_ms,
            if(fraud_kind = 2, 520 + intDiv(h, 29) % 460, 30 + intDiv(h, 29) % 45) AS fraud_ms,
            multiIf(card_kind = 2, 30000, card_kind = 3, 0, 55 + intDiv(h, 31) % 95) AS card_ms,
            auth_ms + fraud_ms + card_ms + 12 AS total_ms
        FROM numbers_mt({first:UInt64}, {count:UInt64})
    )
    ARRAY JOIN {flows:Array(Array(UInt8))}[flow] AS step
)
-- a request near the end whose later lines would fall after now has not written them yet
WHERE timestamp <= fromUnixTimestamp64Milli({until_ms:Int64}, 'UTC')
