"""The load generator: a separate process, standard library only, so it shares no code or GIL with the server.

    python -m bench.load SPEC.json > RESULTS.json

SPEC: {"base_url": "http://127.0.0.1:8123", "concurrency": 8, "duration": 20, "requests": null, "warmup": 3,
       "rounds": 2,
       "balance_workers": 2, "headers": {"Cookie": "sessionid=…"},
       "endpoints": [{"name": "inbox", "method": "GET", "path": "/s/x/referrals/", "headers": {}, "body": null,
                      "expect": "data-referral="}, …]}

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
import resource
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit

PROBE_ATTEMPTS = 200


def percentile(values, share):
    """Nearest-rank percentile (the value at or below which ``share`` of the values lie)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


class Client:
    def __init__(self, host, port, headers):
        self.host, self.port, self.headers = host, port, headers
        self.connection = None
        self.reconnects = 0
        self.worker_pid = None

    def connect(self):
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.connection.connect()

    def send(self, method, path, headers=None, body=None):
        """One request on the kept-alive connection: (status, headers, body). Reconnects once if the server had
        closed an idle connection (that is the keep-alive timeout, not a failure of the request)."""
        payload = None if body is None else json.dumps(body).encode()
        merged = {**self.headers, **(headers or {})}
        if payload is not None:
            merged.setdefault("Content-Type", "application/json")
        for attempt in (1, 2):
            if self.connection is None:
                self.connect()
                self.reconnects += attempt == 2
            try:
                self.connection.request(method, path, body=payload, headers=merged)
                response = self.connection.getresponse()
                data = response.read()
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
    for _attempt in range(PROBE_ATTEMPTS):
        if len(clients) == concurrency:
            break
        client = Client(url.hostname, url.port, headers)
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
        client = Client(url.hostname, url.port, headers)
        _status, response, _body = client.send("GET", "/healthz")
        client.worker_pid = response.getheader("X-Bench-Pid")
        per_worker[client.worker_pid] = per_worker.get(client.worker_pid, 0) + 1
        clients.append(client)
    return clients, per_worker


def run_phase(clients, endpoint, *, duration, requests):
    """All clients hit one endpoint until ``duration`` seconds pass or ``requests`` requests were sent."""
    samples = []  # (latency ms, status, server ms or None, bytes, worker pid)
    failures = []
    lock = threading.Lock()
    sent = [0]
    start_barrier = threading.Barrier(len(clients) + 1)
    stop_at = [math.inf]
    expect = endpoint.get("expect", "").encode()

    def take_ticket():
        if requests is None:
            return time.perf_counter() < stop_at[0]
        with lock:
            sent[0] += 1
            return sent[0] <= requests

    def work(client):
        local, local_failures = [], []
        start_barrier.wait()
        while take_ticket():
            started = time.perf_counter()
            try:
                status, response, body = client.send(
                    endpoint.get("method", "GET"), endpoint["path"], endpoint.get("headers"), endpoint.get("body")
                )
            except OSError as error:
                local_failures.append(f"{type(error).__name__}: {error}")
                local.append(((time.perf_counter() - started) * 1000, 0, None, 0, None))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                local_failures.append(f"HTTP {status} {response.getheader('Location') or ''}".strip())
            elif expect and expect not in body:
                local_failures.append(f"HTTP 200 without {expect.decode()!r}")
            local.append((elapsed, status, _server_ms(response), len(body), response.getheader("X-Bench-Pid")))
        with lock:
            samples.extend(local)
            failures.extend(local_failures)

    threads = [threading.Thread(target=work, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    start_barrier.wait()
    began = time.perf_counter()
    stop_at[0] = began + (duration if requests is None else math.inf)
    for thread in threads:
        thread.join()
    return samples, failures, time.perf_counter() - began


def summarize(endpoint, samples, failures, elapsed):
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
        "latencies_ms": [round(latency, 3) for latency in latencies],
    }


def main():
    with open(sys.argv[1]) as spec_file:
        spec = json.load(spec_file)
    clients, per_worker = open_clients(spec)
    rounds = max(int(spec.get("rounds", 1)), 1)
    duration = spec.get("duration", 20) / rounds
    requests = -(-spec["requests"] // rounds) if spec.get("requests") else None
    collected = {index: ([], [], 0.0, 0.0) for index in range(len(spec["endpoints"]))}
    # Round-robin over the endpoints, so a neighbour's burst of work falls on all of them alike.
    for round_number in range(rounds):
        for index, endpoint in enumerate(spec["endpoints"]):
            warmup = spec.get("warmup", 3) if round_number == 0 else min(spec.get("warmup", 3), 1)
            run_phase(clients, endpoint, duration=warmup, requests=None)
            cpu_started = time.process_time()
            samples, failures, elapsed = run_phase(clients, endpoint, duration=duration, requests=requests)
            all_samples, all_failures, total_elapsed, cpu = collected[index]
            collected[index] = (
                all_samples + samples,
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
        samples, failures, elapsed, cpu = collected[index]
        summary = summarize(endpoint, samples, failures, elapsed)
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
