"""Processes the benchmark starts and must stop: gunicorn on loopback and a Celery worker.

Every process is started so that it dies with the benchmark: stopped in ``finally`` (also on Ctrl-C and on
failure), and given PR_SET_PDEATHSIG, so even a ``kill -9`` of the benchmark does not leave a server behind.
"""

import ctypes
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1


def die_with_parent():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the finally clause still stops it
        pass


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children_of(pid):
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def memory_kib(pid):
    """(current RSS, peak RSS) of a process in KiB, from /proc (None when it is gone)."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    except OSError:
        return None
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def pss_kib(pid):
    """Proportional set size in KiB (pages shared with the parent after fork counted by share), or None."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (0.0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_memory(pids):
    """{pid: {"rss_kib", "peak_kib", "pss_kib"}} for the processes still alive."""
    out = {}
    for pid in pids:
        usage = memory_kib(pid)
        if usage is not None:
            out[pid] = {"rss_kib": usage[0], "peak_kib": usage[1], "pss_kib": pss_kib(pid)}
    return out


class ManagedProcess:
    """A child process with a log file, stopped with SIGTERM (then SIGKILL) when the block ends."""

    def __init__(self, name, command, *, env, log_path):
        self.name, self.command, self.env, self.log_path = name, command, env, Path(log_path)
        self.process = None

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            self.command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only, before exec
        )
        return self

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout=15):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        finally:
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class Gunicorn(ManagedProcess):
    """The app under gunicorn's threaded worker on 127.0.0.1:<free port>, with bench.settings."""

    def __init__(self, *, workers, threads, env_overrides=None, log_path, name="gunicorn"):
        self.port = free_port()
        self.workers, self.threads = workers, threads
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", **(env_overrides or {})}
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "spa_referrals.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={workers}",
            "--worker-class=gthread",
            f"--threads={threads}",
            "--keep-alive=30",
            "--timeout=120",
            "--graceful-timeout=5",
            "--log-level=warning",
            "--no-control-socket",
        ]
        super().__init__(name, command, env=env, log_path=log_path)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout=90):
        """Poll /healthz until it answers 200 (database and Redis reachable) and every worker is up."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                body = response.read()
                connection.close()
                if response.status == 200 and len(self.worker_pids()) >= self.workers:
                    return
                last_error = f"/healthz answered {response.status}: {body[:200]!r}"
            except OSError as error:
                last_error = error
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout} s ({last_error}):\n{self.log_tail()}")

    def worker_pids(self):
        return children_of(self.process.pid) if self.process else []

    def memory(self):
        """{pid: {"rss_kib", "peak_kib", "pss_kib"}} for the master and each worker."""
        return process_memory([self.process.pid, *self.worker_pids()])


class CeleryWorker(ManagedProcess):
    """A real Celery worker (prefork pool) with bench.settings: the Redis database of the benchmark as broker."""

    def __init__(self, *, concurrency, log_path, env_overrides=None, name="celery worker"):
        self.concurrency = concurrency
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", **(env_overrides or {})}
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "spa_referrals",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=bench-{os.getpid()}@%h",
        ]
        super().__init__(name, command, env=env, log_path=log_path)

    def wait_ready(self, timeout=90):
        """Wait for the pool's children and the "ready" line (the worker then consumes from the broker)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            if len(self.pool_pids()) >= self.concurrency and " ready." in self.log_tail(200):
                return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.log_tail()}")

    def pool_pids(self):
        return children_of(self.process.pid) if self.process else []

    def memory(self):
        """{pid: {"rss_kib", "peak_kib", "pss_kib"}} for the main process and each pool process."""
        return process_memory([self.process.pid, *self.pool_pids()])

    def cpu_seconds(self):
        return sum(cpu_seconds(pid) for pid in [self.process.pid, *self.pool_pids()])
