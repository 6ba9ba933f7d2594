"""The load generator: a separate process, standard library only, so it shares no code or GIL with the server.

    python -m bench.load SPEC.json > RESULTS.json

SPEC: {"base_url": "http://127.0.0.1:8123", "concurrency": 8, "duration": 20, "requests": null, "warmup": 3,
       "rounds": 2,
       "balance_workers": 2, "headers": {},
       "identities": {"owner": [{"sessionid": "…"}], "portal": [{"sessionid": "…"}, …], "api": [{}]},
       "endpoints": [{"name": "inbox", "method": "GET", "path": "/s/x/referrals/", "headers": {}, "body": null,
                      "expect": "data-referral=", "identity": "owner"}, …]}

Who sends a request: an endpoint's ``identity`` names a list of cookie sets; client number i uses entry
i mod len (8 portal users, one session each; one owner session shared), and keeps the cookies the server sets
(the CSRF cookie, a rotated session) in its own jar for that identity.

Writes: ``expect_status`` (default 200; 201 for an API create, 302 for a form post that redirects) and
``expect_location`` (a redirect's target must contain it). ``fresh_headers``: header names given a new
random UUID on every request (``Idempotency-Key``). ``form``: {"path": …, "fields": {…}} makes each request
a browser's form submission: GET ``form.path`` (timed apart, as the row's "form GET"), read the CSRF token
from its ``csrfmiddlewaretoken`` input, then POST the fields with it, urlencoded, to ``path``; the POST is the
row's latency.

Each of ``concurrency`` clients holds one HTTP/1.1 keep-alive connection for the whole run and sends its next
request as soon as the previous response is read (closed loop). Endpoints are measured one after the other, in
``rounds`` passes over the list (default 1): in each pass ``warmup`` seconds unrecorded (1 s after the first
pass), then ``duration / rounds`` seconds (or ``requests / rounds`` requests) recorded.

Latency is client-observed over loopback: from sending the request to reading the last byte of the body, so it
includes the wait in gunicorn's queue. The server's own time comes from the Server-Timing header that
bench.middleware adds. A status other than 200, a body without the ``expect`` text, or a transport error is a
failure. ``body`` (a JSON value) is sent as application/json, for the POST endpoints to come.

``balance_workers``: new connections are probed (GET /healthz, the worker pid is in X-Bench-Pid) and kept only
while their worker has fewer than its share, so the connections spread evenly over gunicorn's workers as behind
a front proxy; otherwise each run's figures would depend on which worker happened to win each accept().
"""

import http.client
import json
import math
import re
import resource
import statistics
import sys
import threading
import time
import uuid
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

PROBE_ATTEMPTS = 200
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def percentile(values, share):
    """Nearest-rank percentile (the value at or below which ``share`` of the values lie)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


class Client:
    def __init__(self, host, port, headers, *, number=0, identities=None):
        self.host, self.port, self.headers = host, port, headers
        self.number = number
        # identity -> this client's cookie jar, seeded from the spec's cookie sets.
        self.jars = {name: dict(sets[number % len(sets)]) for name, sets in (identities or {}).items() if sets}
        self.connection = None
        self.reconnects = 0
        self.worker_pid = None

    def connect(self):
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.connection.connect()

    def _keep_cookies(self, jar, response):
        for header in response.msg.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    jar.pop(name, None)
                else:
                    jar[name] = morsel.value

    def send(self, method, path, headers=None, body=None, *, identity=None):
        """One request on the kept-alive connection: (status, headers, body). Reconnects once if the server had
        closed an idle connection (that is the keep-alive timeout, not a failure of the request).

        ``body``: bytes are sent as they are (set the Content-Type in ``headers``), anything else as JSON."""
        payload = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        merged = {**self.headers, **(headers or {})}
        if payload is not None:
            merged.setdefault("Content-Type", "application/json")
        jar = self.jars.get(identity) if identity else None
        if jar:
            merged["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
        for attempt in (1, 2):
            if self.connection is None:
                self.connect()
                self.reconnects += attempt == 2
            try:
                self.connection.request(method, path, body=payload, headers=merged)
                response = self.connection.getresponse()
                data = response.read()
                if jar is not None:
                    self._keep_cookies(jar, response)
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                return response.status, response, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _server_ms(response):
    for part in (response.getheader("Server-Timing") or "").split(","):
        name, _sep, params = part.strip().partition(";")
        if name == "app" and params.startswith("dur="):
            return float(params[4:])
    return None


def open_clients(spec):
    url = urlsplit(spec["base_url"])
    concurrency = spec["concurrency"]
    headers = {"Connection": "keep-alive", "User-Agent": "spa-referrals-bench", **spec.get("headers", {})}
    workers = spec.get("balance_workers") or 0
    share = math.ceil(concurrency / workers) if workers else concurrency
    clients, per_worker = [], {}
    identities = spec.get("identities") or {}
    for _attempt in range(PROBE_ATTEMPTS):
        if len(clients) == concurrency:
            break
        client = Client(url.hostname, url.port, headers, number=len(clients), identities=identities)
        status, response, _body = client.send("GET", "/healthz")
        pid = response.getheader("X-Bench-Pid")
        if status != 200:
            raise SystemExit(f"/healthz answered {status}")
        if workers and pid and per_worker.get(pid, 0) >= share:
            client.connection.close()
            continue
        client.worker_pid = pid
        per_worker[pid] = per_worker.get(pid, 0) + 1
        clients.append(client)
    while len(clients) < concurrency:  # could not balance: take what comes, and say so in the results
        client = Client(url.hostname, url.port, headers, number=len(clients), identities=identities)
        _status, response, _body = client.send("GET", "/healthz")
        client.worker_pid = response.getheader("X-Bench-Pid")
        per_worker[client.worker_pid] = per_worker.get(client.worker_pid, 0) + 1
        clients.append(client)
    return clients, per_worker


def _form_body(client, endpoint):
    """GET the form (as a browser would before submitting it): (latency ms, failure or None, urlencoded body)."""
    form = endpoint["form"]
    identity = endpoint.get("identity")
    started = time.perf_counter()
    try:
        status, _response, body = client.send("GET", form["path"], identity=identity)
    except OSError as error:
        return (time.perf_counter() - started) * 1000, f"form GET {type(error).__name__}: {error}", None
    elapsed = (time.perf_counter() - started) * 1000
    token = CSRF_INPUT.search(body)
    if status != 200 or token is None:
        return elapsed, f"form GET HTTP {status}" + ("" if token else " without a CSRF token"), None
    fields = {**form.get("fields", {}), "csrfmiddlewaretoken": token.group(1).decode()}
    return elapsed, None, urlencode(fields, doseq=True).encode()


def run_phase(clients, endpoint, *, duration, requests):
    """All clients hit one endpoint until ``duration`` seconds pass or ``requests`` requests were sent."""
    samples = []  # (latency ms, status, server ms or None, bytes, worker pid)
    prepare = []  # form GET latencies (ms), for endpoints with a "form"
    failures = []
    lock = threading.Lock()
    sent = [0]
    start_barrier = threading.Barrier(len(clients) + 1)
    stop_at = [math.inf]
    expect = endpoint.get("expect", "").encode()
    expect_status = endpoint.get("expect_status", 200)
    expect_location = endpoint.get("expect_location")
    identity = endpoint.get("identity")
    fresh_headers = endpoint.get("fresh_headers", [])

    def take_ticket():
        if requests is None:
            return time.perf_counter() < stop_at[0]
        with lock:
            sent[0] += 1
            return sent[0] <= requests

    def work(client):
        local, local_prepare, local_failures = [], [], []
        start_barrier.wait()
        while take_ticket():
            headers = dict(endpoint.get("headers") or {})
            headers.update({name: str(uuid.uuid4()) for name in fresh_headers})
            request_body = endpoint.get("body")
            if endpoint.get("form"):
                form_ms, failure, request_body = _form_body(client, endpoint)
                local_prepare.append(form_ms)
                if failure:
                    local_failures.append(failure)
                    continue
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            started = time.perf_counter()
            try:
                status, response, body = client.send(
                    endpoint.get("method", "GET"), endpoint["path"], headers, request_body, identity=identity
                )
            except OSError as error:
                local_failures.append(f"{type(error).__name__}: {error}")
                local.append(((time.perf_counter() - started) * 1000, 0, None, 0, None))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            location = response.getheader("Location") or ""
            if status != expect_status:
                local_failures.append(f"HTTP {status} {location} {body[:160]!r}".strip())
            elif expect_location and expect_location not in location:
                local_failures.append(f"HTTP {status} to {location!r}, not {expect_location!r}")
            elif expect and expect not in body:
                local_failures.append(f"HTTP {status} without {expect.decode()!r}")
            local.append((elapsed, status, _server_ms(response), len(body), response.getheader("X-Bench-Pid")))
        with lock:
            samples.extend(local)
            prepare.extend(local_prepare)
            failures.extend(local_failures)

    threads = [threading.Thread(target=work, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    start_barrier.wait()
    began = time.perf_counter()
    stop_at[0] = began + (duration if requests is None else math.inf)
    for thread in threads:
        thread.join()
    return samples, prepare, failures, time.perf_counter() - began


def summarize(endpoint, samples, prepare, failures, elapsed):
    latencies = [sample[0] for sample in samples]
    server = [sample[2] for sample in samples if sample[2] is not None]
    statuses, pids = {}, {}
    for _latency, status, _server, _size, pid in samples:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        pids[str(pid)] = pids.get(str(pid), 0) + 1
    distinct_failures = {}
    for failure in failures:
        distinct_failures[failure] = distinct_failures.get(failure, 0) + 1
    return {
        "name": endpoint["name"],
        "method": endpoint.get("method", "GET"),
        "path": endpoint["path"],
        "count": len(samples),
        "failures": len(failures),
        "failure_kinds": distinct_failures,
        "statuses": statuses,
        "requests_per_worker": pids,
        "elapsed_s": elapsed,
        "rps": len(samples) / elapsed if elapsed else 0.0,
        "median_ms": statistics.median(latencies) if latencies else None,
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies) if latencies else None,
        "server_median_ms": statistics.median(server) if server else None,
        "server_p95_ms": percentile(server, 0.95),
        "bytes_median": statistics.median([sample[3] for sample in samples]) if samples else 0,
        "form_get_median_ms": statistics.median(prepare) if prepare else None,
        "form_get_p95_ms": percentile(prepare, 0.95),
        "latencies_ms": [round(latency, 3) for latency in latencies],
    }


def main():
    with open(sys.argv[1]) as spec_file:
        spec = json.load(spec_file)
    clients, per_worker = open_clients(spec)
    rounds = max(int(spec.get("rounds", 1)), 1)
    duration = spec.get("duration", 20) / rounds
    requests = -(-spec["requests"] // rounds) if spec.get("requests") else None
    collected = {index: ([], [], [], 0.0, 0.0) for index in range(len(spec["endpoints"]))}
    # Round-robin over the endpoints, so a neighbour's burst of work falls on all of them alike.
    for round_number in range(rounds):
        for index, endpoint in enumerate(spec["endpoints"]):
            warmup = spec.get("warmup", 3) if round_number == 0 else min(spec.get("warmup", 3), 1)
            run_phase(clients, endpoint, duration=warmup, requests=None)
            cpu_started = time.process_time()
            samples, prepare, failures, elapsed = run_phase(clients, endpoint, duration=duration, requests=requests)
            all_samples, all_prepare, all_failures, total_elapsed, cpu = collected[index]
            collected[index] = (
                all_samples + samples,
                all_prepare + prepare,
                all_failures + failures,
                total_elapsed + elapsed,
                cpu + time.process_time() - cpu_started,
            )
            print(
                f"    round {round_number + 1}/{rounds} {endpoint['name']}: {len(samples)} requests in {elapsed:.1f} s"
                + (f", {len(failures)} FAILED" if failures else ""),
                file=sys.stderr,
                flush=True,
            )
    results = []
    for index, endpoint in enumerate(spec["endpoints"]):
        samples, prepare, failures, elapsed, cpu = collected[index]
        summary = summarize(endpoint, samples, prepare, failures, elapsed)
        summary["load_generator_cpu_share"] = cpu / elapsed if elapsed else None
        results.append(summary)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    json.dump(
        {
            "concurrency": spec["concurrency"],
            "rounds": rounds,
            "connections_per_worker": per_worker,
            "reconnects": sum(client.reconnects for client in clients),
            "load_generator_cpu_s": usage.ru_utime + usage.ru_stime,
            "endpoints": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
