"""Where a web process's memory goes: RSS step by step in a fresh process, and which heavy libraries it loaded.

    python -m bench.memory           # the probe and the library costs, a table on stdout (bench/run.py prints it)
    python -m bench.memory probe     # the probe alone, JSON on stdout
    python -m bench.memory modules   # what each heavy library adds to a set-up process, JSON on stdout

The probe is a fresh Python process with bench.settings, reading its own RSS (``/proc/self/status``) after each
step: the interpreter; ``django.setup()`` (every app's models and ``ready()``); the URLconf (every view module
imported, as gunicorn's first request does); one request to each page the benchmark measures (dashboard, inbox,
plain list, the API, the portal form) through ``django.test.Client``; the OpenAPI schema (``/api/schema/``); then
one PDF page rendered in the process (what the outcome-report and patient-export downloads do in a web worker).
After the requests it notes which of HEAVY_MODULES are loaded: a web worker that renders no PDF must not have
WeasyPrint, pypdf or qrcode (infra.pdf, outreach.letters.batches and referrals.pads.documents import them on use).

``modules`` measures single libraries: RSS of a fresh set-up process before and after importing each one.

Single-threaded figures: a gunicorn worker under load adds its threads' stacks, glibc's per-thread malloc arenas
and whatever the busiest requests allocate; bench/run.py reports that peak separately.
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Libraries worth knowing about in a web worker: the PDF stack (loaded on use), and the biggest of the rest.
PDF_MODULES = ("weasyprint", "pypdf", "pypdfium2", "qrcode")
HEAVY_MODULES = (*PDF_MODULES, "fido2.server", "drf_spectacular.generators")


def _rss_kib():
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _setup():
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def _request_every_page():
    """One request to each page the load measures (reads and the write forms), asserting each answers 200."""
    from django.test import Client
    from django_scopes import scopes_disabled

    from bench import seed
    from spas.models import User

    with scopes_disabled():
        owner = User.objects.get(email=f"owner@{seed.BIG_SLUG}.bench.example")
        portal_user = User.objects.get(email=seed.PORTAL_EMAIL.format(n=1, slug=seed.BIG_SLUG))
    staff = Client()
    staff.force_login(owner)
    workspace = f"/s/{seed.BIG_SLUG}"
    for path in (f"{workspace}/", f"{workspace}/referrals/", f"{workspace}/bench/plain-list/"):
        assert staff.get(path).status_code == 200, path
    api = Client(headers={"Authorization": f"Bearer {seed.BENCH_API_KEY}"})
    assert api.get("/api/v1/services/").status_code == 200
    portal = Client()
    portal.force_login(portal_user)
    assert portal.get(f"/portal/{seed.BIG_SLUG}/referrals/new/").status_code == 200


def probe():
    steps = [("interpreter", _rss_kib())]
    _setup()
    steps.append(("django.setup()", _rss_kib()))

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module
    steps.append(("URLconf (every view imported)", _rss_kib()))

    _request_every_page()
    steps.append(("one request to each page", _rss_kib()))
    loaded = [name for name in HEAVY_MODULES if name in sys.modules]

    from django.test import Client

    assert Client().get("/api/schema/").status_code == 200
    steps.append(("/api/schema/ generated", _rss_kib()))

    from bench.pdf import representative_html
    from infra.pdf import render_html_to_pdf

    render_html_to_pdf(representative_html(1), time_limit=60)
    steps.append(("one PDF page rendered", _rss_kib()))
    return {
        "steps": [{"step": name, "rss_kib": rss, "peak_kib": peak} for name, (rss, peak) in steps],
        "loaded_after_requests": loaded,
    }


def modules():
    _setup()
    out = []
    for name in HEAVY_MODULES:
        before = _rss_kib()[0]
        try:
            importlib.import_module(name)
        except ImportError as error:
            out.append({"module": name, "error": str(error)})
            continue
        out.append({"module": name, "rss_added_kib": _rss_kib()[0] - before})
    return out


def _run(*arguments):
    completed = subprocess.run(  # noqa: S603 - this module, in a fresh interpreter
        [sys.executable, "-m", "bench.memory", *arguments],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench.memory {' '.join(arguments)} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout)


def report():
    """The probe and the library costs, each in its own process: {"probe": {...}, "modules": [...]}."""
    return {"probe": _run("probe"), "modules": _run("modules")}


def print_report(result, log=print):
    log(f"  {'step (one fresh process)':<44} {'RSS MB':>8}")
    for step in result["probe"]["steps"]:
        log(f"  {step['step']:<44} {step['rss_kib'] / 1024:>8.1f}")
    loaded = result["probe"]["loaded_after_requests"]
    pdf_loaded = [name for name in loaded if name in PDF_MODULES]
    log(
        "  loaded after the page requests: "
        + (", ".join(loaded) or "none of the heavy libraries")
        + ("" if pdf_loaded else " (no PDF library: they load on the first render)")
    )
    log(
        "  what each library adds to a set-up process on its own (shared dependencies counted in each): "
        + ", ".join(
            f"{m['module']} +{m['rss_added_kib'] / 1024:.1f} MB" if "rss_added_kib" in m else f"{m['module']} (absent)"
            for m in result["modules"]
        )
    )


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        json.dump(probe(), sys.stdout)
    elif len(sys.argv) > 1 and sys.argv[1] == "modules":
        json.dump(modules(), sys.stdout)
    else:
        print_report(report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
