"""TEST FIXTURE certificates for the course's TLS lessons and lab 6: two self-signed
certificates with their private keys, for shop.example and blog.example (EC P-256, valid
until 2126). They protect nothing and are worth nothing: anyone may read them here, and no
real host uses them. Generated once with
`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
-subj "/CN=HOST/O=svclab test fixture" -addext "subjectAltName=DNS:HOST"`.

`tls_secret(name, host)` is the YAML of a `kubernetes.io/tls` Secret holding one of them,
as `kubectl create secret tls NAME --cert=HOST.crt --key=HOST.key` would write it."""
from __future__ import annotations

import base64

#: host -> (certificate PEM, private key PEM). TEST FIXTURES, NOT SECRETS.
FIXTURE_PAIRS: dict[str, tuple[str, str]] = {
    "shop.example": (
        """-----BEGIN CERTIFICATE-----
MIIB2TCCAYCgAwIBAgIUCYoTBwLEyQvuFy9iDhtheC0o83wwCgYIKoZIzj0EAwIw
NTEVMBMGA1UEAwwMc2hvcC5leGFtcGxlMRwwGgYDVQQKDBNzdmNsYWIgdGVzdCBm
aXh0dXJlMCAXDTI2MTIwNjA3MjA0NFoYDzIxMjYxMTEyMDcyMDQ0WjA1MRUwEwYD
VQQDDAxzaG9wLmV4YW1wbGUxHDAaBgNVBAoME3N2Y2xhYiB0ZXN0IGZpeHR1cmUw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASwcAk3BpM5j3syGrMitwpOekBFZqgG
ABm1VXZBoX7Gi1wweYid4/56D6Una23LzmE8fjcRsmF1J6VyWKFZ+qiQo2wwajAd
BgNVHQ4EFgQUxB8Zpp4K6+F529cXkFYKgeU7aqAwHwYDVR0jBBgwFoAUxB8Zpp4K
6+F529cXkFYKgeU7aqAwDwYDVR0TAQH/BAUwAwEB/zAXBgNVHREEEDAOggxzaG9w
LmV4YW1wbGUwCgYIKoZIzj0EAwIDRwAwRAIge0pqKYiJH46ZnCs6PMSg26S5RGEf
KKkrqxwT7pqfGogCIERuylthTxyuSdVvTE6HrmZp+/9QkY/cdtnAkn5vcCRo
-----END CERTIFICATE-----
""",
        """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg9gOmW+39OKiKDGbL
4OzNg94BR6IK+wn0CwA5VBroseqhRANCAASwcAk3BpM5j3syGrMitwpOekBFZqgG
ABm1VXZBoX7Gi1wweYid4/56D6Una23LzmE8fjcRsmF1J6VyWKFZ+qiQ
-----END PRIVATE KEY-----
"""),
    "blog.example": (
        """-----BEGIN CERTIFICATE-----
MIIB2TCCAYCgAwIBAgIUKwIb6pj857Kfw3wbiGoELzZOMEYwCgYIKoZIzj0EAwIw
NTEVMBMGA1UEAwwMYmxvZy5leGFtcGxlMRwwGgYDVQQKDBNzdmNsYWIgdGVzdCBm
aXh0dXJlMCAXDTI2MTIwNjA3MjA0NFoYDzIxMjYxMTEyMDcyMDQ0WjA1MRUwEwYD
VQQDDAxibG9nLmV4YW1wbGUxHDAaBgNVBAoME3N2Y2xhYiB0ZXN0IGZpeHR1cmUw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATeJvSGlPY1HFvtAJQ43vCpYGKY1vKF
a9BobrbQLUCX7jsL0YRpx9Gjx5/t2MUCmFZvlqzc41tX6loSH01T7qlho2wwajAd
BgNVHQ4EFgQUhYin5tt8D9m07mRos0Q67OKSk5cwHwYDVR0jBBgwFoAUhYin5tt8
D9m07mRos0Q67OKSk5cwDwYDVR0TAQH/BAUwAwEB/zAXBgNVHREEEDAOggxibG9n
LmV4YW1wbGUwCgYIKoZIzj0EAwIDRwAwRAIgVreIEviK8eo171RO/aa1RE1IalrU
h0Q+FNJe/nGVMnECIDeWVTvclGzv2kM+V7yy4m0Bu466lfumXg4oDrVNysNT
-----END CERTIFICATE-----
""",
        """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXR4j0PXAwPHjo8Wy
xhJW7M/O3k0OcREqLALF3x14pOKhRANCAATeJvSGlPY1HFvtAJQ43vCpYGKY1vKF
a9BobrbQLUCX7jsL0YRpx9Gjx5/t2MUCmFZvlqzc41tX6loSH01T7qlh
-----END PRIVATE KEY-----
"""),
}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def tls_secret(name: str, host: str) -> str:
    """A kubernetes.io/tls Secret `name` holding the fixture certificate for `host`."""
    crt, key = FIXTURE_PAIRS[host]
    return f"""apiVersion: v1
kind: Secret
metadata:
  name: {name}
  labels: {{svclab/test-fixture: "true"}}
type: kubernetes.io/tls
data:
  tls.crt: {_b64(crt)}
  tls.key: {_b64(key)}
"""
