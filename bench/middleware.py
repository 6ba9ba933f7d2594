"""Server-Timing for the benchmark: how long Django took, so the load generator can report server time
beside the latency it observes (which adds the queueing in gunicorn and the loopback round trip), and which
worker process answered (X-Bench-Pid), so the load generator can spread its connections over the workers."""

import os
import time


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        response["X-Bench-Pid"] = str(os.getpid())
        return response
