"""The safe PDF renderer against a hostile corpus: nothing is fetched, nothing is embedded, nothing
leaks, and every render finishes or fails cleanly within its time limit."""

import base64
import builtins
import gc
import io
import socket
import socketserver
import threading
import time
from pathlib import Path

import pypdf
import pytest

from infra.pdf import (
    RenderError,
    RenderTimeout,
    SafeURLFetcher,
    asset_allowlist,
    render_html_to_pdf,
    render_template_to_pdf,
)

SECRET_MARKER = "TOP-SECRET-7f3a9c"
TIME_LIMIT = 5
SLACK = 3  # seconds for interpreter overhead and the slowest CI machine


class _CountingHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.connections += 1
        self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/css\r\n\r\nbody{color:red}")


@pytest.fixture(scope="module")
def listener():
    """A real TCP server on 127.0.0.1 that counts every connection made to it."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _CountingHandler)
    server.daemon_threads = True
    server.connections = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(f"{SECRET_MARKER}\nroot:x:0:0:root:/root:/bin/bash\n")
    return path


@pytest.fixture
def network_and_files(monkeypatch):
    """Records every socket connect, DNS lookup and Python-level file open during the test."""
    seen = {"connect": [], "dns": [], "open": []}
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo
    real_open = builtins.open

    def connect(sock, address):
        seen["connect"].append(address)
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        seen["dns"].append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def recording_open(file, *args, **kwargs):
        if isinstance(file, (str, bytes, Path)):
            seen["open"].append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(builtins, "open", recording_open)
    monkeypatch.setattr(io, "open", recording_open)  # Path.read_bytes/open go through io.open
    return seen


def hostile_corpus(port, secret_path):
    local = f"http://127.0.0.1:{port}"
    return {
        "file_img": f'<img src="file:///etc/passwd"><img src="file://{secret_path}">',
        "relative_paths": f'<img src="../../../../etc/passwd"><img src="{secret_path}"><img src="/etc/passwd">',
        "css_import": f'<style>@import url("{local}/a.css"); @import "file:///etc/passwd";</style><p>x</p>',
        "css_url": (
            f"<style>body {{ background: url({local}/bg.png) }} p {{ list-style-image: url(file:///etc/passwd) }}"
            f"@font-face {{ font-family: X; src: url({local}/font.woff) }} h1 {{ font-family: X; "
            f"content: url({local}/content.png) }}</style><h1>t</h1><p>x</p>"
        ),
        "stylesheet_link": f'<link rel="stylesheet" href="{local}/style.css">'
        f'<link rel=stylesheet href="{secret_path}">',
        "loopback_img": f'<img src="{local}/pixel.png"><object data="{local}/o"></object><embed src="{local}/e">',
        "metadata_service": '<img src="http://169.254.169.254/latest/meta-data/iam/security-credentials/">'
        '<style>@import "http://169.254.169.254/latest/user-data";</style>',
        "https": f'<img src="https://127.0.0.1:{port}/x.png"><img src="https://example.com/tracker.gif">',
        "link_attachment": f'<link rel="attachment" href="file:///etc/passwd"><link rel="attachment" href="{local}/a">'
        f'<link rel="attachment" href="{secret_path}"><p>x</p>',
        "anchor_attachment": '<a rel="attachment" href="file:///etc/passwd">a</a>'
        f'<a rel="attachment" href="{local}/b">b</a>'
        f'<a rel="attachment" href="data:text/plain;base64,{base64.b64encode(SECRET_MARKER.encode()).decode()}">c</a>',
        "dev_urandom": '<img src="/dev/urandom"><img src="file:///dev/urandom">'
        "<style>@font-face { font-family: R; src: url(/dev/urandom) } p { font-family: R }</style><p>r</p>",
        "proc": '<img src="file:///proc/self/environ"><link rel="stylesheet" href="/proc/self/environ">',
        "base_tag": f'<base href="file:///etc/"><img src="passwd"><base href="{local}/"><img src="x.png">',
        "svg_nested": (
            '<img src="data:image/svg+xml;base64,'
            + base64.b64encode(
                f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" '
                f'height="10"><image xlink:href="{local}/svg.png" width="10" height="10"/>'
                f'<image href="file:///etc/passwd" width="10" height="10"/></svg>'.encode()
            ).decode()
            + '">'
        ),
        "inline_svg": f'<svg width="10" height="10"><image href="{local}/inline.png" width="10" height="10"/></svg>',
        "asset_traversal": '<link rel="stylesheet" href="asset:../../spa_referrals/settings/base.py">'
        '<link rel="stylesheet" href="asset:documents/../../../etc/passwd">',
        "redirect_bait": f'<img src="{local}/redirect?to=file:///etc/passwd">',
    }


CORPUS_NAMES = list(hostile_corpus(1, "/tmp/x"))


def _pdf_text(content):
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _embedded_files(content):
    """Every embedded file: the document's EmbeddedFiles tree and FileAttachment annotations."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    found = list(reader.attachments)
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            if annotation.get_object().get("/Subtype") == "/FileAttachment":
                found.append("annotation")
    return found


@pytest.mark.parametrize("case", CORPUS_NAMES)
def test_hostile_html_fetches_nothing_embeds_nothing_and_leaks_nothing(case, listener, secret_file, network_and_files):
    hostile = hostile_corpus(listener.server_address[1], secret_file)[case]
    html = f"<html><body><h1>Referral pad</h1>{hostile}</body></html>"
    fetcher = SafeURLFetcher()
    connections_before = listener.connections

    rendered = render_html_to_pdf(html, time_limit=TIME_LIMIT, fetcher=fetcher)

    assert listener.connections == connections_before
    assert network_and_files["connect"] == []
    assert network_and_files["dns"] == []
    opened = network_and_files["open"]
    assert not [path for path in opened if path.startswith(("/etc", "/dev", "/proc")) or path == str(secret_file)]
    assert not [url for url in fetcher.served if not url.startswith(("data:", "asset:"))]
    assert _embedded_files(rendered.content) == []
    text = _pdf_text(rendered.content)
    assert "Referral pad" in text
    for leaked in (SECRET_MARKER, "root:x:0:0", "root:"):
        assert leaked not in text
        assert leaked.encode() not in rendered.content
    assert rendered.refused is fetcher.refused


def test_every_refusal_is_recorded_on_the_fetcher(listener, secret_file):
    port = listener.server_address[1]
    fetcher = SafeURLFetcher()
    html = hostile_corpus(port, secret_file)["loopback_img"] + hostile_corpus(port, secret_file)["metadata_service"]

    render_html_to_pdf(html, time_limit=TIME_LIMIT, fetcher=fetcher)

    assert any(url.startswith(f"http://127.0.0.1:{port}/pixel.png") for url in fetcher.refused)
    assert any(url.startswith("http://169.254.169.254/") for url in fetcher.refused)
    assert fetcher.served == []


def test_the_whole_corpus_at_once_makes_no_connection(listener, secret_file, network_and_files):
    corpus = hostile_corpus(listener.server_address[1], secret_file)
    fetcher = SafeURLFetcher()
    connections_before = listener.connections

    rendered = render_html_to_pdf("".join(corpus.values()), time_limit=TIME_LIMIT, fetcher=fetcher)

    assert listener.connections == connections_before
    assert network_and_files["connect"] == []
    assert len(fetcher.refused) >= 20
    assert _embedded_files(rendered.content) == []


def test_the_listener_does_count_connections(listener):
    """The zero-connection assertions above can fail: a plain connect is counted."""
    before = listener.connections
    with socket.create_connection(listener.server_address, timeout=2) as connection:
        connection.recv(1024)

    assert listener.connections == before + 1


ENORMOUS = {
    "huge_width": '<div style="width: 1e308px; height: 1e308px">x</div>',
    "huge_font_size": '<p style="font-size: 99999999px">Hello</p>',
    "huge_margin": '<p style="margin: 99999999999999999999px; padding: 1e300in">x</p>',
    "huge_page_size": "<style>@page { size: 1e308px 1e308px; margin: 1e307px }</style><p>x</p>",
    "huge_line_height": '<p style="line-height: 1e308; letter-spacing: 1e308px; word-spacing: -1e308px">a b c</p>',
    "huge_border_and_radius": '<div style="border: 1e308px solid red; border-radius: 1e308px">x</div>',
    "huge_columns": '<div style="columns: 999999; column-gap: 1e308px">x</div>',
    "huge_counter": "<style>p::before { content: counter(x, upper-roman) } p { counter-reset: x 99999999999 }</style>"
    "<p>x</p>",
    "negative_sizes": '<div style="width: -1e308px; font-size: -5px; margin: -1e308px">x</div>',
    "deep_nesting": "<div>" * 100_000 + "deep" + "</div>" * 100_000,
    "giant_table": "<table>" + ("<tr>" + "<td>cell</td>" * 20 + "</tr>") * 3_000 + "</table>",
    "many_pages": '<div style="page-break-after: always">p</div>' * 2_000,
}


@pytest.mark.parametrize("case", list(ENORMOUS))
def test_enormous_css_renders_or_fails_cleanly_within_the_limit(case):
    started = time.monotonic()
    try:
        rendered = render_html_to_pdf(ENORMOUS[case], time_limit=TIME_LIMIT)
    except (RenderTimeout, RenderError):
        pass
    else:
        assert rendered.content.startswith(b"%PDF-")
        assert rendered.page_count >= 1

    assert time.monotonic() - started < TIME_LIMIT + SLACK


def test_a_render_past_its_limit_raises_render_timeout():
    started = time.monotonic()

    with pytest.raises(RenderTimeout):
        render_html_to_pdf(ENORMOUS["deep_nesting"], time_limit=0.5)

    assert time.monotonic() - started < 0.5 + SLACK


class _SlowFetcher(SafeURLFetcher):
    """Every fetch takes a while, as a slow resolver would; WeasyPrint wraps each fetch in `except Exception`."""

    def fetch(self, url, headers=None):
        time.sleep(0.2)
        return super().fetch(url, headers)


def test_the_time_limit_cannot_be_swallowed_inside_a_fetch():
    html = "".join(f'<img src="http://169.254.169.254/{n}.png">' for n in range(100))
    started = time.monotonic()

    with pytest.raises(RenderTimeout):
        render_html_to_pdf(html, time_limit=1, fetcher=_SlowFetcher())

    assert time.monotonic() - started < 1 + SLACK


def test_the_alarm_is_disarmed_after_a_render():
    render_html_to_pdf("<p>quick</p>", time_limit=0.5)

    time.sleep(0.7)  # an armed alarm would raise RenderTimeout (or kill the run) here


def test_data_uris_are_served():
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    svg = (
        "%3Csvg xmlns='http://www.w3.org/2000/svg' width='10' height='10'%3E"
        "%3Crect width='10' height='10'/%3E%3C/svg%3E"
    )
    fetcher = SafeURLFetcher()

    rendered = render_html_to_pdf(
        f'<img src="data:image/png;base64,{pixel}"><img src="data:image/svg+xml,{svg}">', fetcher=fetcher
    )

    assert fetcher.served == ["data:image/png", "data:image/svg+xml"]
    assert fetcher.refused == []
    reader = pypdf.PdfReader(io.BytesIO(rendered.content))
    assert "/XObject" in reader.pages[0]["/Resources"]


def test_oversized_data_uris_are_refused(monkeypatch):
    monkeypatch.setattr("infra.pdf.MAX_DATA_URI_BYTES", 100)
    fetcher = SafeURLFetcher()

    render_html_to_pdf(f'<img src="data:image/png;base64,{"A" * 400}">', fetcher=fetcher)

    assert fetcher.served == []
    assert len(fetcher.refused) == 1


def test_an_allowlisted_asset_is_served_from_disk(network_and_files):
    fetcher = SafeURLFetcher()
    css_path = asset_allowlist()["documents/document.css"]

    rendered = render_html_to_pdf(
        '<link rel="stylesheet" href="asset:documents/document.css"><p>styled</p>', fetcher=fetcher
    )

    assert fetcher.served == ["asset:documents/document.css"]
    assert fetcher.refused == []
    assert str(css_path) in network_and_files["open"]
    assert "styled" in _pdf_text(rendered.content)


def test_an_asset_outside_the_allowlist_is_refused_without_opening_it(network_and_files):
    fetcher = SafeURLFetcher(allowlist={})

    render_html_to_pdf('<link rel="stylesheet" href="asset:documents/document.css"><p>x</p>', fetcher=fetcher)

    assert fetcher.served == []
    assert fetcher.refused == ["asset:documents/document.css"]
    assert not [path for path in network_and_files["open"] if path.endswith("document.css")]


@pytest.fixture
def pdf_template_dir(settings, tmp_path):
    directory = tmp_path / "templates"
    (directory / "pdf_tests").mkdir(parents=True)
    (directory / "pdf_tests" / "note.html").write_text("<html><body><h1>Note</h1><p>{{ note }}</p></body></html>")
    templates = [dict(engine) for engine in settings.TEMPLATES]
    templates[0]["DIRS"] = [*templates[0].get("DIRS", []), directory]
    settings.TEMPLATES = templates
    return directory


def test_template_syntax_in_spa_text_appears_literally_and_is_not_executed(pdf_template_dir):
    note = "{{ 7*7 }} {% load static %} {{ settings.SECRET_KEY }} <script>alert(1)</script>"

    rendered = render_template_to_pdf("pdf_tests/note.html", {"note": note}, time_limit=TIME_LIMIT)

    text = "".join(_pdf_text(rendered.content).split())  # line breaks may fall anywhere
    assert "{{7*7}}" in text
    assert "{%loadstatic%}" in text
    assert "{{settings.SECRET_KEY}}" in text
    assert "<script>alert(1)</script>" in text
    assert "49" not in text


def test_html_in_spa_text_cannot_smuggle_a_fetch(pdf_template_dir, listener):
    note = f'<img src="http://127.0.0.1:{listener.server_address[1]}/smuggled.png">'
    fetcher = SafeURLFetcher()
    before = listener.connections

    rendered = render_template_to_pdf("pdf_tests/note.html", {"note": note}, fetcher=fetcher)

    assert listener.connections == before
    assert fetcher.refused == []  # escaped: never even became an <img>
    assert "smuggled.png" in _pdf_text(rendered.content)


def test_percent_encoded_data_uris_are_decoded():
    import pypdfium2

    css = "html%20%7B%20background%3A%20rgb(255%2C%200%2C%200)%20%7D"  # html { background: rgb(255, 0, 0) }

    rendered = render_html_to_pdf(f'<link rel="stylesheet" href="data:text/css,{css}"><p>x</p>')

    pdf = pypdfium2.PdfDocument(rendered.content)
    try:
        image = pdf[0].render(scale=0.2).to_pil().convert("RGB")
    finally:
        pdf.close()
    assert image.getpixel((image.width // 2, image.height // 2)) == (255, 0, 0)


def test_the_limit_holds_when_its_first_alarm_lands_where_python_drops_exceptions():
    """An exception raised inside a gc callback is printed and dropped, not propagated (hypothesis, loaded by
    the API fuzzing tests, installs such a callback; __del__ methods behave the same). The alarm re-arms, so
    the next one stops the render."""
    swallowed = []

    def slow_gc_callback(phase, info):
        if phase == "start" and not swallowed:
            try:
                time.sleep(1)  # the alarm fires in here…
            except BaseException as expired:
                swallowed.append(type(expired).__name__)  # …and is lost, as Python would lose it

    started = time.monotonic()
    gc.callbacks.append(slow_gc_callback)
    try:
        with pytest.raises(RenderTimeout):
            render_html_to_pdf(ENORMOUS["deep_nesting"], time_limit=0.2)
    finally:
        gc.callbacks.remove(slow_gc_callback)

    assert swallowed == ["_Expired"]
    assert time.monotonic() - started < 1 + SLACK
