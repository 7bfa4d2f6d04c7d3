"""What the in-pod tools print must map to the same Outcome/DnsAnswer the offline model gives.
The outputs below are the formats agnhost connect, curl and dig (BIND 9) actually print."""
from __future__ import annotations

import pytest

from grader.cluster import exec_parsing as xp
from grader.cluster.base import Status

DIG_NOERROR = """
; <<>> DiG 9.18.24 <<>> +search +time=2 +tries=1 backend A
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242
;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
; COOKIE: 1c2d3e4f5a6b7c8d (echoed)
;; QUESTION SECTION:
;backend.lab.svc.cluster.local.	IN	A

;; ANSWER SECTION:
backend.lab.svc.cluster.local. 30 IN	A	10.96.12.34

;; Query time: 0 msec
;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)
"""

DIG_HEADLESS_SRV = """
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 7
;; QUESTION SECTION:
;_http._tcp.web.lab.svc.cluster.local. IN SRV

;; ANSWER SECTION:
_http._tcp.web.lab.svc.cluster.local. 30 IN SRV 0 50 80 web-0.web.lab.svc.cluster.local.
_http._tcp.web.lab.svc.cluster.local. 30 IN SRV 0 50 80 web-1.web.lab.svc.cluster.local.

;; ADDITIONAL SECTION:
web-0.web.lab.svc.cluster.local. 30 IN A 10.244.0.7
"""

DIG_NXDOMAIN = """
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 9
;; QUESTION SECTION:
;nope.	IN	A

;; AUTHORITY SECTION:
.			30	IN	SOA	a.root-servers.net. nstld.verisign-grs.com. 2024 1800 900 604800 86400
"""

DIG_TIMEOUT = ";; communications error to 10.96.0.10#53: timed out\n;; no servers could be reached\n"


def test_dig_noerror_reports_the_name_that_answered_after_the_search_list() -> None:
    ans = xp.parse_dig("backend", "A", 0, DIG_NOERROR)
    assert ans.rcode == "NOERROR" and ans.ok
    assert ans.name == "backend.lab.svc.cluster.local"  # no root dot, like the offline model
    assert ans.addresses == ["10.96.12.34"]
    assert ans.records[0].rtype == "A"


def test_dig_srv_records_keep_priority_weight_port_target_and_skip_additional() -> None:
    ans = xp.parse_dig("_http._tcp.web", "srv", 0, DIG_HEADLESS_SRV)
    assert ans.rtype == "SRV"
    assert [r.value for r in ans.records] == ["0 50 80 web-0.web.lab.svc.cluster.local",
                                              "0 50 80 web-1.web.lab.svc.cluster.local"]


def test_dig_nxdomain_has_no_name_and_no_records() -> None:
    ans = xp.parse_dig("nope", "A", 0, DIG_NXDOMAIN)
    assert (ans.rcode, ans.name, ans.records) == ("NXDOMAIN", None, ())


def test_dig_without_any_server_answer_is_a_timeout() -> None:
    assert xp.parse_dig("backend", "A", 9, DIG_TIMEOUT).rcode == "TIMEOUT"


def test_dig_command_uses_the_search_list_and_full_output() -> None:
    assert xp.dig_command("backend", "a") == ["dig", "+search", "+time=2", "+tries=2",
                                               "-t", "A", "-q", "backend"]


@pytest.mark.parametrize("name", ["ns", "mx", "txt", "any", "in", "ch", "a", "srv"])
def test_dig_command_passes_names_that_look_like_types_with_q(name: str) -> None:
    """Bare, `dig ns A` asks for type NS of the root (dig's manual: use -q / -t)."""
    cmd = xp.dig_command(name, "A")
    assert cmd[cmd.index("-q") + 1] == name and cmd[cmd.index("-t") + 1] == "A"


DIG_916_TIMEOUT = """
; <<>> DiG 9.16.44 <<>> +search +time=2 +tries=1 -t A -q backend
;; global options: +cmd
;; connection timed out; no servers could be reached
"""


def test_dig_916_timeout_line_and_exit_9_is_a_timeout() -> None:
    assert xp.parse_dig("backend", "A", 9, DIG_916_TIMEOUT).rcode == "TIMEOUT"


DIG_CNAME = """
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 51
;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1

;; QUESTION SECTION:
;db.lab.svc.cluster.local.	IN	A

;; ANSWER SECTION:
db.lab.svc.cluster.local. 5	IN	CNAME	db.example.com.
db.example.com.		5	IN	A	192.0.2.7

;; Query time: 1 msec
"""

DIG_PTR = """
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 3
;; QUESTION SECTION:
;12.34.96.10.in-addr.arpa.	IN	PTR

;; ANSWER SECTION:
12.34.96.10.in-addr.arpa. 30	IN	PTR	backend.lab.svc.cluster.local.
"""


def test_dig_cname_chain_keeps_both_records() -> None:
    ans = xp.parse_dig("db", "A", 0, DIG_CNAME)
    assert [(r.name, r.rtype, r.value) for r in ans.records] == [
        ("db.lab.svc.cluster.local", "CNAME", "db.example.com"),
        ("db.example.com", "A", "192.0.2.7")]
    assert ans.addresses == ["192.0.2.7"] and ans.name == "db.lab.svc.cluster.local"


def test_dig_ptr_answer() -> None:
    ans = xp.parse_dig("12.34.96.10.in-addr.arpa", "PTR", 0, DIG_PTR)
    assert [(r.rtype, r.value) for r in ans.records] == [("PTR", "backend.lab.svc.cluster.local")]


def test_dig_servfail_is_reported_as_such() -> None:
    out = ";; ->>HEADER<<- opcode: QUERY, status: SERVFAIL, id: 9\n;; QUESTION SECTION:\n;x.\tIN\tA\n"
    assert xp.parse_dig("x", "A", 0, out).rcode == "SERVFAIL"


def test_missing_dig_names_the_course_image() -> None:
    with pytest.raises(xp.ProbeToolMissing, match="no dig"):
        xp.parse_dig("backend", "A", 127, "", 'exec: "dig": executable file not found in $PATH')


@pytest.mark.parametrize("rc, stderr, status", [
    (0, "", Status.OK),
    (1, "TIMEOUT\n", Status.TIMEOUT),
    (1, "REFUSED\n", Status.REFUSED),
    (1, "REFUSED: read udp 10.244.0.5:40000->10.96.0.3:53: read: connection refused\n", Status.REFUSED),
    (1, "DNS: lookup backendd on 10.96.0.10:53: no such host\n", Status.DNS_ERROR),
    (1, "OTHER: dial tcp 10.244.0.9:80: connect: no route to host\n", Status.TIMEOUT),
    # UDP (connectUDP/parseUDPErrorAndExit) appends the Go error
    (1, "TIMEOUT: read udp 10.244.0.5:41234->10.96.0.9:53: i/o timeout\n", Status.TIMEOUT),
    (1, "DNS: lookup nope on 10.96.0.10:53: no such host\n", Status.DNS_ERROR),
    # SCTP (connectSCTP) reports a refusal as OTHER
    (1, "OTHER: connection refused\n", Status.REFUSED),
])
def test_agnhost_connect_results_map_to_statuses(rc: int, stderr: str, status: Status) -> None:
    assert xp.parse_connect(rc, stderr)[0] is status


def test_agnhost_dns_reason_quotes_the_resolver() -> None:
    _, reason = xp.parse_connect(1, "DNS: lookup backendd on 10.96.0.10:53: no such host\n")
    assert "no such host" in reason


def test_an_unknown_connect_failure_is_an_error_not_a_verdict() -> None:
    with pytest.raises(RuntimeError, match="UNKNOWN"):
        xp.parse_connect(1, "UNKNOWN: bad arguments\n")


@pytest.mark.parametrize("stderr", [
    "UNKNOWN: address backend: missing port in address\n",             # bad host:port
    "OTHER: No data received from the server. Cannot guarantee the server received the request.\n",
    "Unsupported protocol\nicmp",                                        # --protocol typo
    "Error: unknown flag: --timout\n",                                   # cobra flag error
])
def test_connect_failures_that_are_not_verdicts_raise(stderr: str) -> None:
    with pytest.raises(RuntimeError, match="agnhost connect failed"):
        xp.parse_connect(1, stderr)


def test_connect_timeout_is_never_zero() -> None:
    """agnhost: --timeout=0 means no timeout for TCP and an instant TIMEOUT for SCTP."""
    t = xp.parse_target("backend:80")
    assert xp.connect_command(t, "sctp", 0.0004)[2] == "--timeout=1ms"
    with pytest.raises(ValueError):
        xp.connect_command(t, "tcp", 0)


def test_missing_agnhost_names_the_course_image() -> None:
    with pytest.raises(xp.ProbeToolMissing, match="e2e-test-images/agnhost:"):
        xp.parse_connect(126, 'exec: "/agnhost": stat /agnhost: no such file or directory')


def test_connect_command_line() -> None:
    t = xp.parse_target("backend:80")
    assert xp.connect_command(t, "udp", 1.0) == ["/agnhost", "connect", "--timeout=1s", "--protocol=udp", "backend:80"]
    assert xp.connect_command(t, "TCP", 0.5)[2] == "--timeout=500ms"


@pytest.mark.parametrize("text, expected", [
    ("backend:80/hostname", ("backend", 80, "/hostname")),
    ("10.96.0.5:8080", ("10.96.0.5", 8080, None)),
    ("web.lab.svc.cluster.local:81/echo?msg=hi", ("web.lab.svc.cluster.local", 81, "/echo?msg=hi")),
    ("[fd00::5]:80/", ("fd00::5", 80, "/")),
    ("backend/hostname", ("backend", 80, "/hostname")),
])
def test_parse_target(text: str, expected: tuple) -> None:
    t = xp.parse_target(text)
    assert (t.host, t.port, t.path) == expected


@pytest.mark.parametrize("bad", ["backend", ":80", "backend:http", "backend:70000"])
def test_parse_target_rejects_what_it_cannot_probe(bad: str) -> None:
    with pytest.raises(ValueError):
        xp.parse_target(bad)


def test_curl_body_status_and_peer_ip() -> None:
    out = f"backend-7d9f-abcde\n{xp.CURL_MARK} 200 10.96.12.34"
    r = xp.parse_curl(0, out, "")
    assert (r.status, r.body, r.http_code, r.remote_ip) == (Status.OK, "backend-7d9f-abcde", 200, "10.96.12.34")


def test_curl_http_error_status_is_still_a_response() -> None:
    r = xp.parse_curl(0, f"404 page not found\n{xp.CURL_MARK} 404 10.96.0.1", "")
    assert r.status is Status.OK and r.reason == "HTTP 404"


@pytest.mark.parametrize("rc, stderr, status", [
    (6, "curl: (6) Could not resolve host: backendd", Status.DNS_ERROR),
    (7, "curl: (7) Failed to connect to backend port 80 after 3 ms: Couldn't connect to server", Status.REFUSED),
    (28, "curl: (28) Connection timed out after 1001 milliseconds", Status.TIMEOUT),
    (7, "curl: (7) Failed to connect to 10.244.0.9 port 80: No route to host", Status.TIMEOUT),
    (56, "curl: (56) Recv failure: Connection reset by peer", Status.REFUSED),
])
def test_curl_failures(rc: int, stderr: str, status: Status) -> None:
    assert xp.parse_curl(rc, f"\n{xp.CURL_MARK} 000 ", stderr).status is status


def test_curl_command_line_appends_the_marker() -> None:
    cmd = xp.curl_command(xp.parse_target("backend:80/hostname"), 1.5)
    assert cmd[:6] == ["curl", "-sS", "--connect-timeout", "1.5", "--max-time", "1.5"]
    assert cmd[-1] == "http://backend:80/hostname"
    assert xp.CURL_MARK in cmd[-2]


def test_dig_ttl_is_the_smallest_of_the_answer_records_and_none_without_records() -> None:
    mixed = DIG_HEADLESS_SRV.replace("cluster.local. 30 IN SRV 0 50 80 web-1",
                                     "cluster.local. 12 IN SRV 0 50 80 web-1")
    assert xp.parse_dig("_http._tcp.web", "SRV", 0, mixed).ttl == 12          # the ADDITIONAL 30 is not an answer
    assert xp.parse_dig("nope", "A", 0, DIG_NXDOMAIN).ttl is None
