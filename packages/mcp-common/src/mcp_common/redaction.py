"""One rule set for what counts as a secret, used wherever a value might leave a server (answers, audit lines).

Three kinds of evidence, each applied the same way everywhere:

1. **The name** (`is_secret_name`): an environment variable, argument or `key=value` key that reads like a
   credential: a word `KEY`/`KEYS` (`CARD_NETWORK_API_KEY`), or a word ending in `TOKEN`, `SECRET`,
   `PASSWORD`, `PASSWD`, `PASSPHRASE`, `CREDENTIAL(S)`, `DSN`, `APIKEY`..., or `AUTH`, `AUTHORIZATION`,
   `COOKIE`, `SIGNATURE`, `CONNECTION_STRING`. Names are split into words on `_ - .` and camelCase, so
   `KEYCLOAK_URL`, `MONKEY`, `TOKENIZERS_PARALLELISM` are not secret names. A name whose last word
   describes the secret rather than holding it (`TOKEN_TTL_SECONDS`, `PASSWORD_MIN_LENGTH`, `SECRET_FILE`,
   `AUTH_URL`, `KMS_KEY_ID`) is not one either: its value is still scanned (rule 3).
2. **URLs with userinfo** (`scheme://user:password@host`): only the password is masked
   (`postgres://app:***@db:5432/payments`), so the host stays readable for an investigation. Query parameters
   with secret names (`?token=…`, `&X-Amz-Signature=…`) are masked too.
3. **The value's shape**: well-known token formats (Stripe `sk_live_`/`rk_live_`/`whsec_`, OpenAI/Anthropic
   `sk-…`, GitHub `ghp_`/`gho_`/`ghs_`/`github_pat_`, GitLab `glpat-`, Slack `xox?-` and webhook URLs, AWS
   `AKIA…`, Google `AIza…`, npm, PyPI, SendGrid, Vault `hvs.`), JWTs, PEM private keys, `Bearer`/`Basic`
   credentials, and `name=value` / `name: value` pairs whose name is a secret name (`password=…` inside a
   search keyword or a JDBC string). Recognized prefixes are kept (`sk_live_***`) so a reader knows what
   leaked and can rotate it; everything after them is masked.

What this does not do: guess from entropy alone (trace ids, digests and UUIDs look random too), or find a
secret under a harmless name in a format it does not know. Secret references (`valueFrom.secretKeyRef`) are
the way to keep secrets out of pod specs; this is defence in depth for the literal ones.

The public API: `is_secret_name`, `redact_text`, `redact_env_value`, `redact` (nested data), `REDACTED`.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "clip_text", "is_secret_name", "redact", "redact_env_value", "redact_text", "shorten"]

REDACTED = "***"
"""What replaces a secret (or the secret part of a value)."""

# A word that holds a secret when it *ends* the word: DB_PASSWORD, DBPASSWORD, GITHUBTOKEN, OAUTH_SECRET.
# (`TOKENIZER`, `SECRETARY`, `PASSWORDLESS` do not end with one.)
_SECRET_WORD_END = re.compile(
    r"(TOKENS?|SECRETS?|PASSWORDS?|PASSWD|PASSPHRASE|CREDENTIALS?|CREDS|DSN|APIKEYS?|PRIVATEKEY|SECRETKEY|"
    r"ACCESSKEY|SIGNINGKEY|MASTERKEY|ENCRYPTIONKEY|LICENSEKEY|SSHKEY|AUTHKEY|SESSIONKEY|WEBHOOKSECRET)$"
)
# Whole words that are secret names by themselves.
_SECRET_WORDS = frozenset(
    {"KEY", "KEYS", "PWD", "PASS", "AUTH", "AUTHORIZATION", "COOKIE", "COOKIES", "SIGNATURE", "SIG"}
)
# Two-word secret names (CONNECTION_STRING, CONN_STR, PRIVATE KEY split oddly...).
_SECRET_PAIRS = frozenset({("CONNECTION", "STRING"), ("CONN", "STR"), ("CONN", "STRING"), ("SET", "COOKIE")})
# A last word that describes a secret instead of holding it: TOKEN_TTL_SECONDS, SECRET_FILE, AUTH_URL.
_DESCRIPTOR_WORDS = frozenset(
    {
        "URL", "URLS", "URI", "URIS", "ENDPOINT", "HOST", "HOSTNAME", "PORT", "ADDR", "DOMAIN", "PATH", "FILE",
        "FILES", "DIR", "DIRECTORY", "LOCATION", "NAME", "NAMES", "ID", "IDS", "ARN", "REF", "TYPE", "KIND",
        "MODE", "METHOD", "METHODS", "ALGORITHM", "ALG", "ALGO", "PROVIDER", "ISSUER", "AUDIENCE", "SCOPE",
        "SCOPES", "HEADER", "FIELD", "PARAM", "PREFIX", "FORMAT", "VERSION", "REGION", "POLICY", "LENGTH",
        "LEN", "SIZE", "BITS", "COUNT", "LIMIT", "MAX", "MIN", "RETRIES", "ATTEMPTS", "TTL", "SECONDS", "SECS",
        "SEC", "MS", "MILLIS", "MINUTES", "MINS", "HOURS", "DAYS", "TIMEOUT", "EXPIRY", "EXPIRES", "EXPIRATION",
        "LIFETIME", "AGE", "INTERVAL", "ENABLED", "DISABLED", "ENABLE", "DISABLE", "REQUIRED", "ROTATION",
        "STRATEGY", "COLUMN", "TABLE", "USER", "USERNAME", "LOGIN", "EMAIL", "ACCOUNT", "ROLE",
    }
)  # fmt: skip
# A first word that makes the name a setting about secrets: MAX_TOKENS, NUM_KEYS, ENABLE_AUTH.
_LEADING_DESCRIPTOR_WORDS = frozenset({"MAX", "MIN", "NUM", "NUMBER", "COUNT", "TOTAL", "ENABLE", "DISABLE"})
# KEY after one of these words is a data-structure key, not a credential: PARTITION_KEY, CACHE_KEY.
_NON_SECRET_KEY_QUALIFIERS = frozenset(
    {"PARTITION", "SORT", "PRIMARY", "FOREIGN", "ROUTING", "SHARD", "CACHE", "LOOKUP", "GROUPING", "DEDUP", "PUBLIC"}
)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def _words(name: str) -> list[str]:
    return [w.upper() for w in _WORD_SPLIT.split(name) if w]


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when `name` (an env variable, argument or `key=value` key) reads like it holds a credential.

    >>> [is_secret_name(n) for n in ("DB_PASSWORD", "apiKey", "KEYCLOAK_URL", "TOKEN_TTL_SECONDS")]
    [True, True, False, False]
    """
    words = _words(name)
    if not words or words[-1] in _DESCRIPTOR_WORDS or words[0] in _LEADING_DESCRIPTOR_WORDS:
        return False
    for index, word in enumerate(words):
        if word in {"KEY", "KEYS"} and index > 0 and words[index - 1] in _NON_SECRET_KEY_QUALIFIERS:
            continue
        if word in _SECRET_WORDS or _SECRET_WORD_END.search(word):
            return True
        if index > 0 and (words[index - 1], word) in _SECRET_PAIRS:
            return True
    return False


# --- values ---------------------------------------------------------------------------------------------------

_B = r"(?<![A-Za-z0-9_\-])"  # a token starts at a boundary: `task-runner` holds no `sk-` token
_E = r"(?![A-Za-z0-9_\-])"
# (literal hints, pattern): the pattern runs only when a hint occurs in the text (a fast substring test),
# so a long value costs one pass per hint that is present. `keep` stays in clear, the rest is masked.
# Formats follow the providers' documentation and gitleaks' rules.
_TOKEN_RULES: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (hints, re.compile(pattern))
    for hints, pattern in (
        (("sk_", "rk_"), _B + r"(?P<keep>(?:sk|rk)_(?:live|test)_)[0-9A-Za-z]{10,}" + _E),  # Stripe
        (("whsec_",), _B + r"(?P<keep>whsec_)[0-9A-Za-z]{16,}" + _E),  # Stripe webhook secret
        (
            ("sk-",),
            _B + r"(?P<keep>sk-(?:ant-|proj-|svcacct-|admin-)?)(?=[A-Za-z0-9_\-]*[0-9])[A-Za-z0-9_\-]{20,}" + _E,
        ),
        (("gh",), _B + r"(?P<keep>gh[pousr]_)[0-9A-Za-z]{30,}" + _E),  # GitHub tokens
        (("github_pat_",), _B + r"(?P<keep>github_pat_)[0-9A-Za-z_]{22,}" + _E),
        (("glpat-",), _B + r"(?P<keep>glpat-)[0-9A-Za-z_\-]{20,}" + _E),  # GitLab
        (("xox",), _B + r"(?P<keep>xox[abposre]-)[0-9A-Za-z\-]{10,}" + _E),  # Slack
        (("xapp-",), _B + r"(?P<keep>xapp-)[0-9A-Za-z\-]{10,}" + _E),
        (("hooks.slack.com",), r"(?P<keep>https://hooks\.slack\.com/(?:services|workflows)/)[A-Za-z0-9/_\-]+"),
        (("AKIA", "ASIA", "ABIA", "ACCA", "A3T"), r"\b(?P<keep>AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[0-9A-Z]{16}\b"),
        (("AIza",), _B + r"(?P<keep>AIza)[0-9A-Za-z_\-]{35}" + _E),  # Google API key
        (("npm_",), _B + r"(?P<keep>npm_)[0-9A-Za-z]{36}" + _E),
        (("pypi-",), _B + r"(?P<keep>pypi-)AgE[0-9A-Za-z_\-]{50,}" + _E),
        (("SG.",), _B + r"(?P<keep>SG\.)[0-9A-Za-z_\-]{16,}\.[0-9A-Za-z_\-]{16,}" + _E),  # SendGrid
        (("hvs.", "hvb."), _B + r"(?P<keep>hv[sb]\.)[0-9A-Za-z_\-]{24,}" + _E),  # HashiCorp Vault
        (("dop_v1_",), _B + r"(?P<keep>dop_v1_)[0-9a-f]{64}" + _E),  # DigitalOcean
        (("AGE-SECRET-KEY-1",), _B + r"(?P<keep>AGE-SECRET-KEY-1)[0-9A-Z]{50,}" + _E),
        # JWT: header.payload.signature, each base64url; the header always starts `{"` = eyJ.
        (("eyJ",), _B + r"(?P<keep>)eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"),
        # HTTP credentials: keep the scheme (Bearer, Basic, Token), mask what follows. The credential must
        # look like one (a digit, a symbol or an inner capital), not prose: "Token expired".
        (
            ("Bearer", "Basic", "Token", "Digest"),
            r"\b(?P<keep>(?:Bearer|Basic|Token|Digest)\s+)"
            r"(?=[A-Za-z]*(?:[0-9]|[._~+/=\-][A-Za-z0-9]|[a-z][A-Z]))[A-Za-z0-9._~+/\-]{3,}=*",
        ),
    )
)
_PEM = re.compile(r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END (?P=kind)-----|\Z)", re.S)
_SCHEME = r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://"  # starts at a boundary: linear time
# scheme://user:password@host — the password may hold `@`: take the first `@` that is followed by a host.
_URL_USERINFO = re.compile(
    rf"(?P<head>{_SCHEME})(?P<user>[^\s:/@?#]*):(?P<password>[^\s/?#]*?)@"
    r"(?=[A-Za-z0-9.\-\[\]_%]+(?::\d+)?(?:[/?#,;'\")\s]|$))"
)
# name=value / name: value / "name": "value": found from the separator backwards (linear time), masked
# when the name is a secret name (see is_secret_name).
_SEPARATOR = re.compile(r"[=:]")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_MAX_NAME = 128
_VALUE = re.compile(
    r"\s*(?:(?P<quote>[\"'])(?P<quoted>[^\"'\n]*)(?P=quote)|(?P<bare>[^\s\"'<>&;,)\]}](?:[^\s\"'<>&;,)\]}]|"
    # `& ; , ) ] }` end a bare value only before a space, the end or the next `name=`: `pw=a&b)c` is one value.
    r"[&;,)\]}](?!\s|$|[A-Za-z_][A-Za-z0-9_.\-]*\s*=))*))"
)


def _mask_token(match: re.Match[str]) -> str:
    return match.group("keep") + REDACTED


_HTTP_SCHEMES = frozenset({"bearer", "basic", "token", "digest"})


def _name_before(text: str, separator: int, floor: int) -> tuple[int, str] | None:
    """The `name` (and where it starts) written just before the separator at `separator`: `name = `,
    `"name":`, `-Dname=`. None when there is none."""
    end = separator
    while end > floor and text[end - 1] in " \t":
        end -= 1
    if end > floor and text[end - 1] in "\"'":
        end -= 1
    start = end
    while start > max(floor, end - _MAX_NAME) and text[start - 1] in _NAME_CHARS:
        start -= 1
    while start < end and not (text[start].isalpha() or text[start] == "_"):
        start += 1  # a name starts with a letter or `_`: `-Dspring.datasource.password` is `Dspring...`
    if start == end or (start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_")):
        return None
    return start, text[start:end]


def _mask_pairs(text: str) -> str:
    """Mask the value of every `name=value` / `name: value` pair whose name is a secret name."""
    out: list[str] = []
    position = 0
    for separator in _SEPARATOR.finditer(text):
        at = separator.start()
        if at < position:
            continue  # inside a value already masked
        found = _name_before(text, at, position)
        if found is None or not is_secret_name(found[1]):
            continue
        value = _VALUE.match(text, at + 1)
        if value is None or value.end() == at + 1:
            continue
        out.append(text[position : value.start()])
        out.append(_masked_value(found[1], value))
        position = value.end()
    out.append(text[position:])
    return "".join(out)


def _masked_value(name: str, value: re.Match[str]) -> str:
    lead = value.group(0)[: len(value.group(0)) - len(value.group(0).lstrip())]
    if value.group("quote"):
        quote = value.group("quote")
        return lead + quote + redact_env_value(name, value.group("quoted")) + quote
    bare = value.group("bare")
    if REDACTED in bare or bare.lower() in _HTTP_SCHEMES:
        return value.group(0)  # already masked by a shape rule, or `Authorization: Bearer ***`
    return lead + redact_env_value(name, bare)


def _mask_userinfo(match: re.Match[str]) -> str:
    if not match.group("password"):
        return match.group(0)  # `user:@host` hides nothing
    return f"{match.group('head')}{match.group('user')}:{REDACTED}@"


def redact_text(text: str) -> str:
    """`text` with every secret-shaped part masked and the rest left as it was.

    URL passwords become `***` (user, host and path stay), known token formats keep their prefix
    (`ghp_***`), PEM private keys and JWTs become `***`, and `password=…`-style pairs keep their name.
    """
    if not text:
        return text
    if "-----BEGIN" in text:
        text = _PEM.sub(REDACTED, text)
    if "://" in text and "@" in text:
        text = _URL_USERINFO.sub(_mask_userinfo, text)
    for hints, pattern in _TOKEN_RULES:
        if any(hint in text for hint in hints):
            text = pattern.sub(_mask_token, text)
    if "=" in text or ":" in text:
        text = _mask_pairs(text)
    return text


_WHOLE_URL = re.compile(rf"^\s*(?P<head>{_SCHEME})(?P<userinfo>[^\s/?#]*)@(?P<rest>\S*)\s*$")
# Values a secret name may show because they hold no secret: a file path (GOOGLE_APPLICATION_CREDENTIALS,
# a mounted key file) or a flag.
_FILE_PATH = re.compile(r"^(?:/[\w.\-]+){2,}/?$")
_FLAGS = frozenset({"true", "false", "yes", "no", "on", "off"})


def redact_env_value(name: str, value: str) -> str:
    """How an environment variable (or any named setting) `name=value` may be shown.

    A secret name masks the whole value, except a URL with userinfo, whose host and path stay readable
    (`SENTRY_DSN=https://***@o1.ingest.sentry.io/5`); any other name shows the value with its
    secret-shaped parts masked (`DATABASE_URL=postgres://app:***@db/payments`). Empty values, absolute file
    paths (`GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/key.json`) and flags (`true`, `off`) are shown.
    """
    if not value:
        return value
    if is_secret_name(name):
        if _FILE_PATH.match(value) or value.lower() in _FLAGS:
            return value
        url = _WHOLE_URL.match(value)
        if url is None:
            return REDACTED
        user, colon, password = url.group("userinfo").partition(":")
        # A secret-named URL keeps its user only when a separate password holds the secret.
        shown = f"{user}:{REDACTED}" if colon and password else REDACTED
        return f"{url.group('head')}{shown}@{redact_text(url.group('rest'))}"
    return redact_text(value)


_WINDOW = 1024  # how far past a cut redaction still looks, so a secret across the cut is masked whole


def shorten(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars`, followed by what was cut: `…(+N chars, M in all, sha256 <16 hex>)`."""
    if len(text) <= max_chars:
        return text
    digest = hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()[:16]
    return f"{text[:max_chars]}…(+{len(text) - max_chars} chars, {len(text)} in all, sha256 {digest})"


def clip_text(text: str, max_chars: int) -> str:
    """`text` as an answer may show it: secret-shaped parts masked (`redact_text`), then cut to `max_chars` with
    `…`. Only the head and a window past the cut are scanned, so a secret across the cut is masked whole and a
    100 kB stack trace costs no more than a short message."""
    if len(text) <= max_chars:
        return redact_text(text)
    return redact_text(text[: max_chars + _WINDOW])[: max_chars - 1] + "…"


def redact(value: Any, key: str = "", *, max_chars: int | None = None) -> Any:
    """A copy of `value` (nested mappings, lists, strings) with secrets masked by the rules above.

    A mapping entry whose key is a secret name is masked as `redact_env_value` would; every other string is
    passed through `redact_text`. Numbers, booleans and None pass unchanged (under a secret key too, except
    that a non-empty scalar under a secret key is masked). With `max_chars`, longer strings are cut (see
    `shorten`), and only their head is scanned, so a huge value costs no more than a short one.
    """
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k), max_chars=max_chars) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, key, max_chars=max_chars) for v in value]
    if isinstance(value, str):
        if max_chars is not None and len(value) > max_chars:
            head = value[: max_chars + _WINDOW]
            masked = redact_env_value(key, head) if key else redact_text(head)
            return masked[:max_chars] + shorten(value, max_chars)[max_chars:]
        return redact_env_value(key, value) if key else redact_text(value)
    if key and value is not None and not isinstance(value, bool) and is_secret_name(key):
        return REDACTED
    return value
