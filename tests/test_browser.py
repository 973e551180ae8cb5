"""
A real browser against a real server: headless Chromium (Debian's
C{chromium} and C{chromium-driver}, driven by selenium) uploads with an
HTML form made by boto3's C{generate_presigned_post}, and then with
C{fetch()} to a presigned PUT URL, to a C{twistd txs3} subprocess over
TLS.

The test page is served by the test itself (a twisted.web site on
127.0.0.1, another port, so its origin differs from txs3's and the
C{fetch()} needs the bucket's CORS rules).  Chromium trusts the server's
certificate by its public key only (C{--ignore-certificate-errors-spki-list}),
not by ignoring certificate errors.  Selenium runs in a thread, so that
the reactor keeps serving the page meanwhile.  A screenshot of the final
page is kept in C{$TXS3_ARTIFACTS} (default: C{artifacts/} at the
repository root).

Without Chromium the test skips, unless C{CI} is set: then it fails.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.web.resource import Resource
from twisted.web.server import Site

from tests.conftest import REPO_ROOT, TestCA, Txs3Process
from tests.interop.conftest import Txs3Server, start_server

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
FETCHED = "fetched by the browser, CORS and all\n"


def artifacts_dir() -> Path:
    """Where artefacts go: C{$TXS3_ARTIFACTS}, or C{artifacts/} at the root."""
    path = Path(os.environ.get("TXS3_ARTIFACTS") or REPO_ROOT / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def spki_hash(cert_file: Path) -> str:
    """The base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as Chromium pins it."""
    certificate = x509.load_pem_x509_certificates(cert_file.read_bytes())[0]
    spki = certificate.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def require_chromium() -> tuple[str, str]:
    """Chromium and its driver; fail under CI, skip elsewhere, when absent."""
    if CHROMIUM and CHROMEDRIVER:
        return CHROMIUM, CHROMEDRIVER
    reason = "headless Chromium needs Debian's chromium and chromium-driver"
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI is set: .ci/run installs them)")
    pytest.skip(reason)


class Page(Resource):
    """One page of the test site: fixed HTML."""

    isLeaf = True

    def __init__(self, body: Callable[[], str]) -> None:
        super().__init__()
        self._body = body

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        return self._body().encode("utf-8")


def form_page(post: dict[str, Any]) -> str:
    """The upload form: the presigned fields, hidden, then the file input."""
    inputs = "\n".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in post["fields"].items()
    )
    return f"""<!doctype html>
<html><head><title>txs3 upload</title></head><body>
<h1>Upload to txs3</h1>
<form id="upload" action="{html.escape(post["url"])}" method="post"
      enctype="multipart/form-data">
{inputs}
<input type="file" id="file" name="file">
<input type="submit" id="send" value="Upload">
</form></body></html>"""


def done_page(put_url: str) -> str:
    """
    Where the form redirects: shows the query txs3 added, then PUTs a
    text with fetch() to a presigned URL and shows the outcome.
    """
    return f"""<!doctype html>
<html><head><title>txs3 uploaded</title></head><body>
<h1>Uploaded</h1>
<pre id="query"></pre>
<p>fetch() PUT: <span id="result"></span></p>
<script>
const query = new URLSearchParams(location.search);
document.getElementById("query").textContent =
  ["bucket", "key", "etag"].map(n => n + " = " + query.get(n)).join("\\n");
fetch({json.dumps(put_url)}, {{method: "PUT", body: {json.dumps(FETCHED)}}})
  .then(r => r.ok ? "ok " + r.headers.get("ETag") : "status " + r.status)
  .catch(e => "error " + e)
  .then(text => {{ document.getElementById("result").textContent = text; }});
</script></body></html>"""


def drive(
    chromium: str,
    driver_path: str,
    page: str,
    done: str,
    upload: Path,
    spki: str,
    profile: Path,
    screenshot: Path,
) -> dict[str, str]:
    """
    In a thread: open the form, choose C{upload}, submit, wait for the
    done page and its fetch(), take the screenshot.

    @return: what the done page shows.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests may run as root
        "--disable-dev-shm-usage",
        "--window-size=1000,700",
        f"--user-data-dir={profile}",
        # Trust txs3's certificate by its key, nothing else: the flag is
        # honoured only with a user data directory of the test's own.
        f"--ignore-certificate-errors-spki-list={spki}",
    ):
        options.add_argument(argument)
    browser = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        wait = WebDriverWait(browser, 30)
        browser.get(page)
        browser.find_element(By.ID, "file").send_keys(str(upload))
        browser.find_element(By.ID, "send").click()
        wait.until(lambda b: b.current_url.startswith(done))
        wait.until(lambda b: b.find_element(By.ID, "result").text)
        shown = {
            "url": browser.current_url,
            "query": browser.find_element(By.ID, "query").text,
            "result": browser.find_element(By.ID, "result").text,
        }
        browser.save_screenshot(str(screenshot))
        return shown
    finally:
        browser.quit()


@pytest_twisted.ensureDeferred
async def test_form_and_fetch_uploads_in_chromium(
    tmp_path: Path, test_ca: TestCA, start_txs3: Callable[..., Txs3Process]
) -> None:
    """Chromium's form upload and fetch() PUT both land byte for byte in a twistd txs3 over TLS."""
    chromium, driver_path = require_chromium()
    (tmp_path / "txs3").mkdir()
    server: Txs3Server = start_server(tmp_path / "txs3", test_ca, start_txs3)
    pages: dict[str, str] = {}
    root = Resource()
    root.putChild(b"", Page(lambda: pages["form"]))
    root.putChild(b"done", Page(lambda: pages["done"]))
    port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
    try:
        origin = f"http://127.0.0.1:{port.getHost().port}"
        s3, bucket = server.new_bucket("browser")
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={"CORSRules": [{
                "AllowedOrigins": [origin], "AllowedMethods": ["PUT", "POST"],
                "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"]}]},
        )  # fmt: skip
        post = s3.generate_presigned_post(
            bucket,
            "browser/${filename}",
            Fields={"success_action_redirect": f"{origin}/done"},
            Conditions=[
                {"success_action_redirect": f"{origin}/done"},
                ["starts-with", "$key", "browser/"],
                ["content-length-range", 1, 10 * 1024 * 1024],
            ],
            ExpiresIn=600,
        )
        # The content type fetch() sends with a string body: a SigV2
        # presigned URL signs it, as S3 does.
        put_url = s3.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "browser/fetched.txt",
                                  "ContentType": "text/plain;charset=UTF-8"},
            ExpiresIn=600)  # fmt: skip
        pages["form"] = form_page(post)
        pages["done"] = done_page(put_url)
        data = os.urandom(700_000) + b"\r\n--not-a-boundary\r\n" + os.urandom(1000)
        upload = tmp_path / "upload.bin"
        upload.write_bytes(data)
        screenshot = artifacts_dir() / "post-object-browser.png"
        shown = await deferToThread(
            drive, chromium, driver_path, f"{origin}/", f"{origin}/done", upload,
            spki_hash(test_ca.cert_file), tmp_path / "profile", screenshot)  # fmt: skip
        assert screenshot.stat().st_size > 0
        etag = f'"{hashlib.md5(data).hexdigest()}"'
        assert f"etag = {etag}" in shown["query"], shown
        assert "key = browser/upload.bin" in shown["query"], shown
        got = s3.get_object(Bucket=bucket, Key="browser/upload.bin")
        assert got["Body"].read() == data
        assert got["ETag"] == etag
        assert shown["result"].startswith("ok "), shown
        fetched = s3.get_object(Bucket=bucket, Key="browser/fetched.txt")
        assert fetched["Body"].read() == FETCHED.encode()
    finally:
        await port.stopListening()
        server.process.stop()
