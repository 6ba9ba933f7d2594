"""The parts of `make bench` besides the HTTP load: what the write rows send, putting the data set back as seeded,
waiting for the Celery worker, the pads rendered by the worker, and the sub-benchmarks run in their own processes
(PDF renderer, check-in job, memory probes). bench/run.py calls these in order and puts their figures in its table.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from bench import seed
from bench.server import die_with_parent

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_TABLES_SEEDED = ("referrals_referral", "spas_auditevent", "spas_outgoingemail", "referrals_idempotencyrecord")


def _subprocess(arguments, *, env=None, timeout=None):
    """Run ``python -m <arguments>`` from the checkout, dying with us; (completed process or None on timeout)."""
    try:
        return subprocess.run(  # noqa: S603 - our own modules
            [sys.executable, "-m", *arguments],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only, before exec
        )
    except subprocess.TimeoutExpired:
        return None


# --- what the write rows send ----------------------------------------------------------------------------------


def write_inputs(slug=seed.BIG_SLUG):
    """The API create's JSON body (the key's practice's clinician and two of its specialty's services) and the
    portal form's fields (valid for every portal user's practice)."""
    from partners.models import Clinician
    from referrals.models import ApiKey, hash_api_key
    from spas.catalog import services_for_specialty

    with scopes_disabled():
        api_key = ApiKey.objects.select_related("spa", "practice").get(key_hash=hash_api_key(seed.BENCH_API_KEY))
        practice = api_key.practice
        clinician = Clinician.objects.filter(spa=api_key.spa, practice=practice).order_by("pk").first()
    with scope(spa=api_key.spa):
        services = list(services_for_specialty(spa=api_key.spa, specialty=practice.specialty))[:2]
    api_body = {
        "patient_first_name": "Grace",
        "patient_last_name": "Miller",
        "patient_phone": "(617) 555-0142",
        "patient_email": "grace.miller@patient.example",
        "preferred_contact_method": "phone",
        "preferred_contact_time": "Weekday mornings",
        "patient_date_of_birth": "1984-05-17",
        "reason_category": "post_procedure_skin_care",
        "reason_text": "Sensitive skin two weeks after a chemical peel.",
        "urgency": "routine",
        "clinician": str(clinician.public_id),
        "services": [str(service.public_id) for service in services],
        "patient_consented_to_contact": True,
    }
    portal_fields = {
        "patient_first_name": "Hannah",
        "patient_last_name": "Okafor",
        "patient_phone": "(617) 555-0178",
        "patient_email": "hannah.okafor@patient.example",
        "preferred_contact_time": "After 5 pm",
        "reason_category": "other",
        "reason_text": "Referred after today's visit.",
        "patient_agreed": "on",
    }
    return api_body, portal_fields


# --- back to the seeded state ----------------------------------------------------------------------------------


def restore_seeded_state(seeded_at, *, slug=seed.BIG_SLUG):
    """Remove what earlier runs wrote into the big spa (referrals the write rows created, with their timeline,
    emails, idempotency records and audit events, the bare endpoint's rows) and every session, so each run
    measures the data set as seeded. Returns {what: rows deleted}."""
    from infra.models import OutgoingEmail
    from referrals.models import IdempotencyRecord, Referral
    from spas.models import Spa

    deleted = {}
    with scopes_disabled():
        spa = Spa.objects.get(slug=slug)
        deleted["referrals"] = Referral.objects.filter(spa=spa, received_at__gt=seeded_at).delete()[0]
        deleted["idempotency records"] = IdempotencyRecord.objects.filter(spa=spa).delete()[0]
        deleted["emails"] = OutgoingEmail.objects.filter(spa=spa, created_at__gt=seeded_at).delete()[0]
        with connection.cursor() as cursor:
            # Audit events are append-only in the app (model and queryset refuse to delete); the seed writes none,
            # so everything after it is the benchmark's own and goes.
            cursor.execute("DELETE FROM spas_auditevent WHERE spa_id = %s AND created_at > %s", [spa.pk, seeded_at])
            deleted["audit events"] = cursor.rowcount
            cursor.execute("DELETE FROM django_session")
            deleted["sessions"] = cursor.rowcount
    if deleted["referrals"]:
        # The referrals went without the app's services: count the spa's maintained figures again and assess its
        # partners' health from them (~5 s).
        from django.db import transaction

        from outreach.health.snapshots import refresh_spa
        from referrals import figures

        with scope(spa=spa), transaction.atomic():
            figures.rebuild(spa)
            refresh_spa(spa=spa)  # the partners' kept health follows their figures
    if deleted["referrals"] or deleted["audit events"]:
        with connection.cursor() as cursor:
            for table in BENCH_TABLES_SEEDED:  # visibility maps again, for the index-only scans
                cursor.execute(f"VACUUM (ANALYZE) {table}")
    return deleted


def broker_location():
    from django.conf import settings

    return settings.CELERY_BROKER_URL


def purge_broker():
    """Drop every message waiting in the benchmark's Redis database (queue and unacked), none of anyone else's."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = [key for key in ("celery", "unacked", "unacked_index") if client.exists(key)]
    waiting = client.llen("celery") if client.exists("celery") else 0
    if keys:
        client.delete(*keys)
    return waiting


# --- the Celery worker -----------------------------------------------------------------------------------------


def wait_outbox_drained(since, *, slug=seed.BIG_SLUG, timeout=180):
    """Wait until the worker has sent every email queued since ``since``: {"emails", "sent", "wait_s"}."""
    from infra.models import OutgoingEmail

    started = time.perf_counter()
    with scopes_disabled():
        emails = OutgoingEmail.objects.filter(spa__slug=slug, created_at__gte=since)
        while time.perf_counter() - started < timeout:
            if not emails.exclude(status=OutgoingEmail.Status.SENT).exists():
                break
            time.sleep(0.5)
        return {
            "emails": emails.count(),
            "sent": emails.filter(status=OutgoingEmail.Status.SENT).count(),
            "wait_s": time.perf_counter() - started,
        }


def emails_via_worker(worker_cpu_seconds, *, count=1000, slug=seed.BIG_SLUG, timeout=300):
    """Queue ``count`` new-referral emails in one transaction, as the web process does, and wait for the Celery
    worker to send them all: the worker's CPU seconds for it (every process of the worker) and the web side's
    cost per queued email. Returns {"emails", "sent", "worker_cpu_s", "wall_s", "enqueue_ms_each"}."""
    from django.conf import settings
    from django.db import transaction
    from django.urls import reverse

    from infra.outbox import email_enqueue
    from referrals.models import Referral
    from spas.models import Spa

    with scopes_disabled():
        spa = Spa.objects.get(slug=slug)
        referral = Referral.objects.filter(spa=spa).select_related("practice").order_by("-received_at").first()
    url = settings.SITE_URL + reverse("referrals:detail", args=[spa.slug, referral.public_id])
    context = {"spa": spa, "practice": referral.practice, "channel": "API", "url": url, "due": referral.received_at}
    since = timezone.now()
    cpu_before = worker_cpu_seconds()
    started = time.perf_counter()
    with scope(spa=spa), transaction.atomic():
        for index in range(count):
            email_enqueue(spa=spa, to=f"cpu-{index}@bench.example", template_name="referral-new", context=context)
    enqueued = time.perf_counter()
    drained = wait_outbox_drained(since, timeout=timeout)
    return {
        "emails": drained["emails"],
        "sent": drained["sent"],
        "worker_cpu_s": worker_cpu_seconds() - cpu_before,
        "wall_s": time.perf_counter() - started,
        "enqueue_ms_each": (enqueued - started) * 1000 / count,
    }


def pads_via_worker(count, *, pages=2, slug=seed.BIG_SLUG, timeout=300):
    """Ask for ``count`` referral pads (``pages`` letter pages each) of active practices, as the practice page's
    button does, and wait for the Celery worker to render them (WeasyPrint, the thumbnail, the file saved).

    Returns per document the render time in the worker (started → finished) and end to end (requested →
    finished, queueing in the 2-process pool included), in seconds, and failures."""
    from infra import documents
    from infra.models import GeneratedDocument
    from referrals.pads.documents import KIND
    from spas.models import Spa, User

    with scopes_disabled():
        spa = Spa.objects.get(slug=slug)
        owner = User.objects.get(email=f"owner@{slug}.bench.example")
    with scope(spa=spa):
        from partners.models import Practice

        practices = list(Practice.objects.filter(spa=spa, stage="active").order_by("pk")[:count])
        requested = [
            documents.document_request(
                spa=spa,
                kind=KIND,
                source=practice,
                requested_by=owner,
                options={"paper": "letter", "pages": pages, "clinician": None},
                force=True,  # a reused data set has them rendered already: render again
            ).pk
            for practice in practices
        ]
        finished = {GeneratedDocument.Status.READY, GeneratedDocument.Status.FAILED}
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            rows = list(GeneratedDocument.objects.filter(pk__in=requested))
            if all(row.status in finished for row in rows):
                break
            time.sleep(0.25)
    render = [(row.finished_at - row.started_at).total_seconds() for row in rows if row.status == "ready"]
    end_to_end = [(row.finished_at - row.requested_at).total_seconds() for row in rows if row.status == "ready"]
    return {
        "documents": len(rows),
        "pages_each": pages,
        "ready": len(render),
        "failed": [row.failure_reason for row in rows if row.status != "ready"],
        "render_s": render,
        "end_to_end_s": end_to_end,
    }


# --- sub-benchmarks in their own processes ---------------------------------------------------------------------


def pdf_benchmark(log=print):
    """bench/pdf.py (safe renderer vs bare WeasyPrint) in its own process: its JSON figures, or {"error": …}.

    It builds its pad in a throwaway SQLite test database (test settings, without DATABASE_URL / REDIS_URL, which
    bench.settings has pointed at the bench database in this process), so it never touches another database."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env["DJANGO_SETTINGS_MODULE"] = "spa_referrals.settings.test"
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as results:
        path = results.name
    try:
        completed = _subprocess(["bench.pdf", "--json", path], env=env)
        for line in completed.stdout.splitlines():
            log("  " + line)
        try:
            return json.loads(Path(path).read_text())
        except ValueError:
            return {"error": f"bench.pdf exited {completed.returncode}: {completed.stderr[-1500:]}"}
    finally:
        os.unlink(path)


def check_in_job(*, timeout, log=print):
    """Reset the check-in spa, run the job cold in a fresh process, then once more (it must create nothing)."""
    results = {}
    reset = _subprocess(["bench.checkins", "reset"])
    if reset.returncode != 0:
        return {"error": f"reset failed: {reset.stderr[-1500:]}"}
    results["reset"] = json.loads(reset.stdout)
    for run in ("cold", "second"):
        started = time.perf_counter()
        completed = _subprocess(["bench.checkins", "run"], timeout=timeout)
        if completed is None:
            results[run] = {"timed_out": True, "wall_s": time.perf_counter() - started}
            log(f"  check-in job, {run} run: stopped after {timeout} s (BENCH_CHECKIN_TIMEOUT)")
            break
        if completed.returncode != 0:
            results[run] = {"error": completed.stderr[-1500:]}
            break
        results[run] = json.loads(completed.stdout)
        figures = results[run]
        log(
            f"  check-in job, {run} run: {figures['created']:,} created for {figures['partners']:,} active partners in "
            f"{figures['wall_s']:.1f} s ({figures['cpu_s']:.1f} s CPU in the process, {figures['statements']:,} SQL "
            f"statements taking {figures['sql_s']:.1f} s, {figures['emails']:,} emails queued)"
        )
    # The job queued one Celery message per email; no worker runs now and the next run starts from a reset.
    results["purged_messages"] = purge_broker()
    return results


def memory_report(log=print):
    """bench/memory.py's probes (each in a fresh process): RSS step by step, which heavy libraries a web process
    loads, and what each costs."""
    from bench import memory

    try:
        result = memory.report()
    except RuntimeError as error:
        return {"error": str(error)}
    memory.print_report(result, log=log)
    return result


def summary(values):
    """(median, p95) of a list, nearest-rank p95; (None, None) when empty."""
    if not values:
        return None, None
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(-(-95 * len(ordered) // 100) - 1, 0)]


def now():
    return timezone.now()
