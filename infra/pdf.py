"""Safe PDF rendering with WeasyPrint. Domain-free: any app may import it.

What a document may load is decided here, not by the HTML:
- ``data:`` URIs (QR codes, logos inlined by the caller), and
- ``asset:<name>`` for an exact allowlist of the project's own static files, read from disk.
Everything else — ``file://``, ``http(s)://`` (including 127.0.0.1 and 169.254.169.254),
``/dev/urandom``, ``@import`` of anything else, ``<link rel=attachment>`` — is refused
without being opened, and recorded on the fetcher so tests can prove nothing was fetched.
There is no network access and no redirect handling at all.

Spa-entered text must reach the template as context variables (Django escapes them); it is
never compiled as a template. A render has a time limit (SIGALRM where available).
"""

import base64
import functools
import mimetypes
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.template.loader import render_to_string

# WeasyPrint is imported on first use, not here: it (with Pango, fontTools and cffi) adds ~40 MB to a process,
# and this module is imported by every web worker (referrals.apps.ready registers the document kinds), while
# only the Celery worker and a few download views ever render a PDF. See docs/benchmarks.md (memory).

ASSET_SCHEME = "asset:"
DEFAULT_TIME_LIMIT_SECONDS = 30
RETRY_AFTER_EXPIRY_SECONDS = 0.05
MAX_DATA_URI_BYTES = 5 * 1024 * 1024


def asset_allowlist():
    """Exact files a document may load, by asset name → path on disk."""
    static = Path(settings.BASE_DIR) / "static" / "documents"
    return {
        "documents/document.css": static / "document.css",
    }


class RenderTimeout(Exception):
    """The render took longer than its time limit."""


class RenderError(ValueError):
    """WeasyPrint could not render this HTML (absurd CSS values and the like): a clean, catchable failure."""


class _Expired(BaseException):
    """Raised by the alarm inside WeasyPrint. A BaseException, so WeasyPrint's own ``except Exception``
    (every fetch is wrapped in one) cannot swallow it and carry on past the limit."""


@functools.cache  # one class, however many threads ask first
def _safe_url_fetcher_class():
    """The SafeURLFetcher class, built on first use because its base class is WeasyPrint's (see the imports)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeURLFetcher(URLFetcher):
        """Serves data: URIs and allowlisted assets; refuses and records everything else."""

        def __init__(self, allowlist=None):
            super().__init__(timeout=1, allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=False)
            self.allowlist = asset_allowlist() if allowlist is None else allowlist
            self.refused = []
            self.served = []

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return self._data(url)
            if url.startswith(ASSET_SCHEME):
                name = url[len(ASSET_SCHEME) :]
                path = self.allowlist.get(name)
                if path is not None:
                    self.served.append(url)
                    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})
            self.refused.append(url[:200])
            raise ValueError("This document may not load external resources.")

        def _data(self, url):
            header, _, payload = url.partition(",")
            if len(payload) > MAX_DATA_URI_BYTES * 4 // 3 + 4:
                self.refused.append(url[:60])
                raise ValueError("Embedded data is too large.")
            media_type = header[5:].split(";")[0] or "text/plain"
            # RFC 2397: a non-base64 payload is percent-encoded (inline SVG, CSS).
            body = base64.b64decode(payload) if header.endswith(";base64") else unquote_to_bytes(payload)
            self.served.append("data:" + media_type)
            return URLFetcherResponse("data:", body=body, headers={"Content-Type": media_type})

    return SafeURLFetcher


def __getattr__(name):
    # ``from infra.pdf import SafeURLFetcher`` (tests, subclasses) still works: the first access builds
    # the class, importing WeasyPrint, and keeps it as a module attribute.
    if name == "SafeURLFetcher":
        globals()[name] = fetcher_class = _safe_url_fetcher_class()
        return fetcher_class
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class RenderedPdf:
    content: bytes
    page_count: int
    refused: list


@contextmanager
def _time_limit(seconds):
    # SIGALRM works only in the main thread (Celery's prefork children and test runs);
    # elsewhere the task's own time limit is the backstop.
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def _expired(signum, frame):
        # An exception raised while a gc callback or a __del__ runs is printed and dropped ("Exception
        # ignored in …"), and the render would carry on unlimited. So re-arm before raising: until the
        # render stops, the alarm keeps firing every RETRY_AFTER_EXPIRY_SECONDS.
        signal.setitimer(signal.ITIMER_REAL, RETRY_AFTER_EXPIRY_SECONDS)
        raise _Expired

    previous = signal.signal(signal.SIGALRM, _expired)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Expired:
        raise RenderTimeout(f"Rendering took longer than {seconds} seconds.") from None
    finally:
        signal.signal(signal.SIGALRM, previous)


def render_html_to_pdf(html, *, time_limit=DEFAULT_TIME_LIMIT_SECONDS, stylesheets=(), fetcher=None):
    """Render an HTML string to PDF bytes with the safe fetcher.

    Raises RenderTimeout past the time limit, RenderError (a ValueError) when WeasyPrint cannot lay it out.
    """
    from weasyprint import CSS, HTML

    fetcher = fetcher or _safe_url_fetcher_class()()
    with _time_limit(time_limit):
        try:
            document = HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=fetcher).render(
                stylesheets=[CSS(string=css, url_fetcher=fetcher) for css in stylesheets]
            )
            # Attachments declared in the HTML are never embedded: <link rel=attachment> lives in
            # the metadata, <a rel=attachment> becomes a file annotation on its page.
            document.metadata.attachments = []
            for page in document.pages:
                page.links = [link for link in page.links if link[0] != "attachment"]
            content = document.write_pdf()
        except (ArithmeticError, RecursionError, ValueError, TypeError, AttributeError, IndexError, KeyError) as error:
            # WeasyPrint trips over absurd input (font-size: 99999999px divides by zero): fail cleanly.
            raise RenderError(f"The document could not be rendered ({type(error).__name__}: {error}).") from error
    return RenderedPdf(content=content, page_count=len(document.pages), refused=fetcher.refused)


def render_template_to_pdf(template_name, context, **options):
    """Render a Django template (context values are escaped by the template engine) to PDF."""
    return render_html_to_pdf(render_to_string(template_name, context), **options)
