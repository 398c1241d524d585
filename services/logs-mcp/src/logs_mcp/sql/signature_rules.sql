-- log_signature(message): the rules that turn a message into its signature (template), applied in order, one
-- `replaceRegexpAll(<so far>, <pattern>, <replacement>)` each: `logs_mcp.patterns` composes them into the
-- `log_signature` function of schema.sql, and inline for a table that has no signature column.
-- Each rule line holds two SQL string literals (RE2 syntax): pattern, replacement. Masks need word boundaries:
-- a digit inside an identifier (jk2_init, ssh2, log4j) stays; a standalone value becomes a placeholder.
-- key=value pairs whose value holds a digit or a dot (uid=0, rhost=host-1.example.com)
'\\b([A-Za-z_][A-Za-z0-9_.-]*)=[^\\s,;&)\\]"\'<>]*[0-9.][^\\s,;&)\\]"\'<>]*', '\\1=<*>'
-- an HTTP request line in quotes keeps its method ("GET /v2/x HTTP/1.1" -> GET <*>): the method tells requests apart
'"(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|CONNECT|TRACE) [^"\\n]*"', '\\1 <*>'
-- quoted values ('safety', "m-1'; DROP …"): the quote must open after a non-word character (O'Brien stays)
'(^|[^\\w])\'[^\'\\n]*\'', '\\1\'<*>\''
'(^|[^\\w])"[^"\\n]*"', '\\1"<*>"'
-- ISO timestamps, free-text dates with weekday and month names, syslog and access-log dates, plain dates
'\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(?:[.,]\\d+)?(?:Z|[+-]\\d{2}:?\\d{2})?', '<ts>'
'\\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? +(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* +\\d{1,2}(?: +\\d{1,2}:\\d{2}(?::\\d{2})?)?(?: +\\d{4})?\\b', '<ts>'
'\\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* +\\d{1,2},? +(?:\\d{4} +)?\\d{1,2}:\\d{2}:\\d{2}\\b', '<ts>'
'\\b\\d{1,2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\\d{4}(?::\\d{2}:\\d{2}:\\d{2})?(?: [+-]\\d{4})?', '<ts>'
'\\b\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2}\\b', '<date>'
-- Windows component identities (Package_for_KB2579686~31bf3856ad364e35~amd64~~6.1.1.1): `~`-joined fields around a
-- 16-hex-digit key token are one id, whatever the name field holds (it may have no digit)
'[\\w.-]*~[0-9a-fA-F]{16}~[\\w.~-]*', '<id>'
-- host names holding a digit (ec2-52-80-34-196.compute.amazonaws.com), UUIDs, URLs, IPv4 addresses with an optional port
'(^|[^.\\w])[A-Za-z0-9-]*\\d[A-Za-z0-9-]*(?:\\.[A-Za-z0-9-]+)*\\.[a-z]{2,6}([^.\\w$]|$)', '\\1<host>\\2'
'\\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\b', '<uuid>'
'\\b[A-Za-z][A-Za-z0-9+.-]*://[^\\s\\])"\',]+', '<url>'
'\\b\\d{1,3}(?:\\.\\d{1,3}){3}(?::\\d{1,5})?\\b', '<ip>'
-- a list of addresses (a proxy chain: 10.11.21.131,10.11.10.1) is one value
'<ip>(?:, ?<ip>)+', '<ip>'
-- a name with a domain's shape and a port (api.github.com:443, avatars1.<host>:443 after the rule above) is one
-- host; lowercase labels only, so Java frames (WindowState.destroySurface:2201) stay; a source location in the
-- same shape (controller.go:123) becomes <host> too
'(^|[^.\\w/])(?:<host>|[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.[a-z]{2,6}):\\d{1,5}\\b', '\\1<host>'
-- MAC addresses (88:75:56:a0:95:ed), before times take their first three fields
'\\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\\b', '<mac>'
-- times of day and mm:ss
'\\b\\d{1,2}:\\d{2}(?::\\d{2})?(?:[.,]\\d+)?\\b', '<time>'
-- paths: Unix (after a space, =, (, [ or a quote) and Windows
'(^|[\\s=(\\[,])/[^\\s,;()\\[\\]"\']+', '\\1<path>'
'\\b[A-Za-z]:\\\\[^\\s,;"\']+', '<path>'
-- hex with 0x, sizes with units (bytes, KB, MiB; "18846 bytes (18.4 KB)" is one size), durations with units
'\\b0x[0-9a-fA-F]+\\b', '<hex>'
'\\b\\d+(?:\\.\\d+)? ?(?:bytes|B|[KMGTP]i?B)\\b(?: ?\\(\\d+(?:\\.\\d+)? ?(?:bytes|B|[KMGTP]i?B)\\))?', '<size>'
'[<>]?\\b\\d+(?:\\.\\d+)? ?(?:ns|us|µs|ms|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?)\\b', '<duration>'
-- booleans as values (down true / down false, isOverlap:false)
'\\b(?:true|false|TRUE|FALSE|True|False)\\b', '<bool>'
-- a space-separated list of three or more names of letters then digits (bn654 bn655 bn656 …, node lists) is one
-- value: its length varies from line to line
'\\b[A-Za-z]+\\d+(?: [A-Za-z]+\\d+){2,}\\b', '<list>'
-- digit-led words joined by underscores (30546354_149225542): one id, as a letter-led one is below
'\\b\\d+(?:_[0-9A-Za-z]+)+\\b', '<id>'
-- ids: a letter-led word with a separator followed by a digit (tx-abc123, blk_-695…, job_1445_0020, core.2275)
'\\b[A-Za-z][A-Za-z0-9]*(?:[_.#-]+[A-Za-z0-9]+)*?[_.#-]+-?[A-Za-z]*\\d[A-Za-z0-9]*(?:[_.#-]+[A-Za-z0-9]+)*\\b', '<id>'
-- numbers, signed, decimal or dotted (versions); then long hex words (trace ids, hashes)
'-?\\b\\d+(?:\\.\\d+)*\\b', '<num>'
'\\b[0-9a-fA-F]{8,}\\b', '<hex>'
