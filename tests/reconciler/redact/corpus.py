"""Planted secrets, each with a negative twin that must come out unchanged: the measure of what the
built-in redactors mask (recall) and what they mask that is no secret (precision), in docs/redaction.md.

Each shape: (name, file, text with the secret, the secret's distinctive part, the twin's text).
A few shapes are known misses (MISSED) or known false alarms (FALSE_ALARMS): listed, not hidden.
"""
from __future__ import annotations

GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GHO = "gho_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
GHS = "ghs_" + "0123456789abcdefABCDEF0123456789abcd"
PAT = "github_pat_11ABCDEFG0123456789abc_" + "x" * 59
SLACK_BOT = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_USER = "xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef"
SLACK_APP = "xapp-1-A0123456789-0123456789012-abcdef0123456789"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlLXBsYW50ZWQ"
PEM = "MIIEowIBAAKCAQEAzW9kcJ1p2fXmQ4nbPLANTEDKEYBODY"

SHAPES: list[tuple[str, str, str, str, str]] = [
    # assignments, by the name's words
    ("env var", "app.env", "DB_PASSWORD=hunter2-env", "hunter2-env", "DB_PASSWORD_FILE=/run/secrets/db"),
    ("yaml key", "app.yaml", "password: s3cr3t-yaml\n", "s3cr3t-yaml", "passwordPolicy: strict\n"),
    ("json key", "app.json", '{"apiKey": "k-9f8e7d-json"}', "k-9f8e7d-json", '{"apiKeyName": "primary"}'),
    ("key, qualified", "a.log", "api_key=abc123-qual", "abc123-qual", "keepLast=10"),
    ("token", "a.yaml", "token: t0k3n-abc\n", "t0k3n-abc", "tokenizer: bert\n"),
    ("client secret", "a.yaml", "client_secret: cs-123-yaml\n", "cs-123-yaml", "secretName: db-creds\n"),
    ("aws secret key", "a.env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG", "wJalrXUtnFEMIK7MDENG",
     "AWS_REGION=us-east-1"),
    ("aws key id", "a.log", "using AKIAIOSFODNN7PLANTED now", "AKIAIOSFODNN7PLANTED", "using AKIA1234 now"),
    ("passphrase", "a.yaml", "passphrase: correct-horse\n", "correct-horse", "passphraseLength: 20\n"),
    ("credentials", "a.yaml", "credentials: cred-77-x\n", "cred-77-x", "credentialsSecretRef: db\n"),
    ("private key name", "a.yaml", "private_key: pk-998-x\n", "pk-998-x", "public_key: pub-998-x\n"),
    ("PASS suffix", "a.env", "MYSQL_PASS=mp-445-x", "mp-445-x", "net.bridge.bridge-nf-pass-vlan-input-dev = 0"),
    ("tls.key", "a.yaml", "tls.key: LS0tLS1CRUdJTi-tlskey\n", "LS0tLS1CRUdJTi-tlskey", "tls.crt: LS0tLS1CRUdJTi-crt\n"),
    ("session token, ini", "credentials", "aws_session_token = FwoGZXIvYXdz-sess", "FwoGZXIvYXdz-sess",
     "aws_region = eu-west-1"),
    ("api-key, dashed", "a.yaml", "api-key: dash-key-551\n", "dash-key-551", "monkey: banana\n"),
    ("number value", "a.json", '{"password": 4711123}', "4711123", '{"passwordLength": 4711123}'),
    ("in a quoted message", "a.log", 'msg="retry password=pw-in-msg"', "pw-in-msg", 'msg="retry the login"'),
    ("scheme kept", "a.env", "UPLOAD_TOKEN=Bearer up-tok-12", "up-tok-12", "UPLOAD_TOKEN_TYPE=Bearer"),
    ("escaped JSON", "a.json", '{"a": "{\\"password\\":\\"esc-pw-1\\"}"}', "esc-pw-1",
     '{"a": "{\\"passwordPolicy\\":\\"strict\\"}"}'),
    ("query string", "a.log", "GET /login?user=u&password=qs-pw-8&next=/", "qs-pw-8", "GET /login?user=u&next=/"),
    ("nested object", "a.json", '{"auth": {"password": "nested-pw-3"}}', "nested-pw-3", '{"auth": {"mode": "oidc"}}'),
    ("YAML block scalar", "a.yaml", "password: |\n  block-pw-line\nnext: 1\n", "block-pw-line",
     "description: |\n  block-pw-line\nnext: 1\n"),
    ("kubectl literal", "a.log", "kubectl create secret generic x --from-literal=password=lit-pw-5", "lit-pw-5",
     "kubectl create secret generic x --from-file=cert.pem"),
    # lists under a secret's name
    ("yaml block list", "a.yaml", "passwords:\n  - list-pw-1\n  - list-pw-2\n", "list-pw-2",
     "names:\n  - list-pw-1\n  - list-pw-2\n"),
    ("yaml list, same indent", "a.yaml", "tokens:\n- list-tok-1\nother: x\n", "list-tok-1", "tags:\n- list-tok-1\nother: x\n"),
    ("yaml flow list", "a.yaml", "passwords: [flow-pw-1, flow-pw-2]\n", "flow-pw-1", "ports: [flow-pw-1, flow-pw-2]\n"),
    ("json array", "a.json", '{"tokens": ["arr-tok-1", "arr-tok-2"]}', "arr-tok-2", '{"tags": ["arr-tok-1", "arr-tok-2"]}'),
    ("json array, many lines", "a.json", '{\n  "secrets": [\n    "ml-sec-1",\n    "ml-sec-2"\n  ]\n}',
     "ml-sec-2", '{\n  "labels": [\n    "ml-sec-1",\n    "ml-sec-2"\n  ]\n}'),
    # connection strings
    ("url credentials", "a.log", "postgres://app:pgpw-url-1@db:5432/app", "pgpw-url-1", "postgres://db:5432/app"),
    ("redis password only", "a.log", "redis://:redis-pw-2@cache:6379/0", "redis-pw-2", "redis://cache:6379/0"),
    ("database url", "a.env", "DATABASE_URL=mysql://u:dburl-pw@h/db", "dburl-pw", "DATABASE_HOST=h"),
    ("mysql dsn", "a.log", "dsn=gouser:dsn-pw-3@tcp(db:3306)/orders", "dsn-pw-3", "dialing tcp(db:3306) for orders"),
    ("connection string", "a.env", "SQL=Server=sql01;Password=mssql-pw-7;", "mssql-pw-7", "SQL=PasswordPolicy=strict;"),
    ("jdbc", "a.log", "jdbc:postgresql://h/db?user=u&password=jdbc-pw-4", "jdbc-pw-4",
     "jdbc:postgresql://h/db?user=u&sslmode=require"),
    # headers
    ("authorization", "a.log", "Authorization: Bearer bearer-tok-9f8e", "bearer-tok-9f8e", "authorization mode: RBAC"),
    ("proxy authorization", "a.log", "Proxy-Authorization: Basic cHJveHk6cHc=", "cHJveHk6cHc=", "Proxy-Agent: squid"),
    ("authorization in http.Header", "a.json", '{"Authorization": ["Bearer hdr-tok-2"]}', "hdr-tok-2",
     '{"Accept": ["application/json"]}'),
    ("x-api-key header", "a.log", "x-api-key: xkey-776-z", "xkey-776-z", "x-request-id: req-776-z"),
    ("set-cookie", "a.log", "Set-Cookie: session=sess-cookie-1; Path=/; HttpOnly", "sess-cookie-1",
     "cookie-policy: strict"),
    ("cookie", "a.log", "Cookie: a=ck-one-1; b=ck-two-2", "ck-two-2", "cookies_enabled=true"),
    ("set-cookie in JSON", "a.json", '{"Set-Cookie": ["id=json-ck-3; Path=/"]}', "json-ck-3", '{"cookieName": "id"}'),
    ("cookie in a Go map", "a.log", "headers map[Cookie:[sid=go-ck-4]]", "go-ck-4", "headers map[Accept:[*/*]]"),
    # command lines
    ("curl -u", "a.log", "curl -u admin:curl-pw-1 https://127.0.0.1:9/api", "curl-pw-1", "curl -u admin https://127.0.0.1:9/api"),
    ("curl --user=", "a.log", "curl --user=admin:curl-pw-2 https://127.0.0.1:9", "curl-pw-2", "sort -u names:list"),
    ("--password, space", "a.log", "app --password pw-space-1 --verbose", "pw-space-1",
     "app --password-file /etc/pw --verbose"),
    ("--token, space", "a.log", "agent --token tok-space-2", "tok-space-2", "agent --token-ttl 3600"),
    ("--client-secret quoted", "a.log", 'login --client-secret "cs-space-3"', "cs-space-3", "login --secret-name db"),
    ("docker login", "a.log", "docker login -u me --password dl-pw-4 reg.io", "dl-pw-4",
     "docker login -u me --password-stdin reg.io"),
    ("--password=", "a.log", "mysqladmin --password=eq-pw-5 status", "eq-pw-5", "mysqladmin --host=db status"),
    # tokens by their prefix
    ("github ghp_", "a.log", f"token {GH} used", GH, "token ghp_short used"),
    ("github gho_", "a.log", f"oauth={GHO}", GHO, "oauth=gho_"),
    ("github ghs_", "a.env", f"GITHUB_TOKEN_VALUE_IS {GHS}", GHS, "GITHUB_TOKEN_VALUE_IS unset"),
    ("github_pat_", "a.log", f"pat {PAT}", PAT, "see github_pattern docs"),
    ("github in a header", "a.log", f"Authorization: token {GH}", GH, "Authorization: required"),
    ("slack xoxb-", "a.log", f"slack {SLACK_BOT}", SLACK_BOT, "slack xoxb-1"),
    ("slack xoxp-", "a.json", f'{{"slack": "{SLACK_USER}"}}', SLACK_USER, '{"slack": "xoxp-"}'),
    ("slack xapp-", "a.log", f"app token {SLACK_APP}", SLACK_APP, "app token xapp-none"),
    ("jwt", "a.log", f"id_token {JWT}", JWT, "eyJustKidding.eyJoking"),
    ("private key", "a.pem", f"-----BEGIN RSA PRIVATE KEY-----\n{PEM}\n-----END RSA PRIVATE KEY-----\n", PEM,
     f"-----BEGIN CERTIFICATE-----\n{PEM}\n-----END CERTIFICATE-----\n"),
    # Kubernetes shapes
    ("json env", "a.json", '{"name":"DB_PASSWORD","value":"env-json-1"}', "env-json-1",
     '{"name":"LOG_LEVEL","value":"env-json-1"}'),
    ("json env, two lines", "a.json", '{\n  "name": "API_TOKEN",\n  "value": "env-json-2"\n}', "env-json-2",
     '{\n  "name": "API_URL",\n  "value": "env-json-2"\n}'),
    ("yaml env", "a.yaml", "- name: SECRET_KEY\n  value: env-yaml-3\n", "env-yaml-3",
     "- name: SECRET_KEY_FILE\n  value: env-yaml-3\n"),
    ("ceph auth", "a.json", '{\n  "entity": "client.admin",\n  "key": "AQBvaBFZAAAAABAA9VHgwCgQ6/cjs0kuarvS+8=="\n}',
     "AQBvaBFZAAAAABAA9VHgwCgQ6", '{\n  "entity": "mon.",\n  "key": "AQBvaBFZAAAAABAA9VHgwCgQ6/cjs0kuarvS+8=="\n}'),
    ("gzip-compressed log", "app.log.gz", "password=gz-pw-1\n", "gz-pw-1", "password_file=gz-pw-1\n"),
    # known misses and false alarms (kept here so the figures stay honest)
    ("mysql -p attached", "a.log", "mysql -uroot -pmy-attached-pw db", "my-attached-pw", "mysql -uroot db"),
    ("prose", "a.log", "the password is prose-pw-9 for now", "prose-pw-9", "the password is required"),
    ("key path", "a.yaml", "client_key: kp-real-1\n", "kp-real-1", "client_key: /etc/tls/client.key\n"),
]

MISSED = {"mysql -p attached", "prose"}          # the secret survives: no rule reads these
# the twin is changed: a path under a key's name is masked; a one-word Authorization value is taken for a credential
FALSE_ALARMS = {"key path", "github in a header"}
