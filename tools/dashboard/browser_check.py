"""The dashboard of `cascade serve` checked in a real browser (Debian's chromium, driven by
Selenium through chromium-driver). Run by tools/test-dashboard, which builds cascade, makes a
data folder (tenants acme and beta, a plan, a document, questions with escalations, one of them
containing <script>) and starts the service.

Checks: sign-in (query keys and wrong keys refused; cookie HttpOnly and SameSite=Strict), every
number on the usage page equals the API's report for the same month, a question containing
<script> renders as text, an escalation resolved through the page becomes a correction row in
the ledger, forms without their CSRF token or from another origin are refused and change
nothing, an uploaded document becomes searchable, another tenant's admin sees none of acme's
data, the pages fit a phone's width, sign-out ends the session. Screenshots of every page are
saved in SHOTS. Exits with the number of failed checks (0: all passed).

  python browser_check.py URL ACME_ADMIN ACME_QUERY BETA_ADMIN SHOTS [--screenshots-only]
"""

import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from decimal import Decimal

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

URL, ACME_ADMIN, ACME_QUERY, BETA_ADMIN, SHOTS = sys.argv[1:6]
ONLY_SHOTS = "--screenshots-only" in sys.argv
os.makedirs(SHOTS, exist_ok=True)
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def http(path, key=None, data=None, headers=None, method=None):
    """(status, content type, body) of a request to the service."""
    h = dict(headers or {})
    if key:
        h["Authorization"] = "Bearer " + key
    request = urllib.request.Request(URL + path, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def api(path, key, body=None):
    status, _, text = http(path, key, data=json.dumps(body).encode() if body is not None else None,
                           headers={"Content-Type": "application/json"} if body is not None else None)
    return status, json.loads(text) if text else {}


def browser():
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", "--lang=en-US"):
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def shot(driver, name, width=1280):
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height + 40, 800), 5000))
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))
    driver.set_window_size(1280, 800)


def sign_in(driver, key, expect="tenant"):
    driver.delete_all_cookies()
    driver.get(URL + "/dashboard/login")
    driver.find_element(By.ID, "key").send_keys(key)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "#login button"), expect)


def submit(driver, button, expect_id):
    """Clicks a form's button and waits for the next page to show `expect_id` (a POST and its
    redirect can finish after click() returns)."""
    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    try:
        WebDriverWait(driver, 15).until(expected_conditions.staleness_of(old))
        WebDriverWait(driver, 15).until(expected_conditions.presence_of_element_located((By.ID, expect_id)))
    except Exception:
        pass  # the check that reads `expect_id` reports what the page shows instead


def text(driver, element_id):
    """The element's text; "" (and what the page says instead) when the page has no such element."""
    found = driver.find_elements(By.ID, element_id)
    if not found:
        main = driver.find_elements(By.TAG_NAME, "main")
        print(f"     (no #{element_id} on {driver.current_url}: {main[0].text[:300] if main else driver.page_source[:300]!r})")
        return ""
    return found[0].text.strip()


def dollars(shown):
    """Decimal of "$1,234.5678" / "-$0.01"; None for "–"."""
    if shown in ("–", ""):
        return None
    negative = shown.startswith("-")
    value = Decimal(shown.lstrip("-").lstrip("$").replace(",", ""))
    return -value if negative else value


def agrees(shown, exact):
    """A shown amount equals the exact API amount to the precision it is shown with."""
    value = dollars(shown)
    if exact is None or value is None:
        return exact is None and value is None
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(value - Decimal(exact)) <= Decimal(1).scaleb(-decimals) / 2


def main():
    driver = browser()
    try:
        run(driver)
    finally:
        driver.quit()
    if ONLY_SHOTS:
        return
    print(f"{len(failures)} failure(s)" if failures else "all dashboard checks passed", flush=True)
    sys.exit(min(len(failures), 100))


def run(driver):
    if ONLY_SHOTS:
        sign_in(driver, ACME_ADMIN)
        for name, path in (("usage", "/dashboard"), ("escalations", "/dashboard/escalations"),
                           ("knowledge-base", "/dashboard/knowledge-base")):
            driver.get(URL + path)
            shot(driver, name)
        driver.get(URL + "/dashboard")
        shot(driver, "usage-phone", width=390)
        print(f"screenshots in {SHOTS}")
        return

    # Sign-in.
    driver.get(URL + "/dashboard")
    check("/dashboard/login" in driver.current_url, "an anonymous visit is sent to the sign-in page")
    shot(driver, "login")
    sign_in(driver, ACME_QUERY, expect="error")
    check("query key" in text(driver, "error"), "a query key cannot sign in")
    sign_in(driver, "csk_000000000000_" + "A" * 43, expect="error")
    check("not a valid key" in text(driver, "error"), "a wrong key cannot sign in")
    sign_in(driver, ACME_ADMIN)
    check(driver.current_url.rstrip("/").endswith("/dashboard"), f"an admin key signs in ({driver.current_url})")
    session = next((c for c in driver.get_cookies() if c["name"] == "cascade_session"), None)
    check(session is not None and session.get("httpOnly") is True and session.get("sameSite") == "Strict",
          f"the session cookie is HttpOnly and SameSite=Strict ({session})")

    # Every number on the usage page equals the API's report for the same month.
    status, report = api("/v1/usage", ACME_ADMIN)
    check(status == 200, "the API reports usage")
    check(text(driver, "tenant") == "acme", "the page names the tenant")
    for element_id, field in (("queries", "queries"), ("resolutions", "resolutions"),
                              ("billable-resolutions", "billable_resolutions"), ("escalated", "escalated")):
        check(text(driver, element_id) == str(report[field]),
              f"{field}: page {text(driver, element_id)} = API {report[field]}")
    rate = report["resolution_rate"]
    check(text(driver, "resolution-rate") == (f"{rate * 100:.1f}%" if rate is not None else "–"),
          f"resolution rate: page {text(driver, 'resolution-rate')} = API {rate}")
    check(dollars(text(driver, "total-cost")) == Decimal(report["total_cost"]),
          f"model cost: page {text(driver, 'total-cost')} = API {report['total_cost']} exactly")
    check(agrees(text(driver, "blended-cost"), report["blended_cost_per_resolution"]),
          f"cost per billable resolution: page {text(driver, 'blended-cost')} ≈ API {report['blended_cost_per_resolution']}")
    check(agrees(text(driver, "invoice-total"), report["invoice_total"]),
          f"invoice: page {text(driver, 'invoice-total')} = API {report['invoice_total']}")
    for tier in report["tiers"]:
        row = driver.find_element(By.CSS_SELECTOR, f"#tiers tr[data-tier='{tier['tier']}']")
        shown = row.find_element(By.CSS_SELECTOR, ".resolutions").text
        check(shown == str(tier["resolutions"]), f"{tier['tier']} resolutions: page {shown} = API {tier['resolutions']}")
        cost = row.find_element(By.CSS_SELECTOR, ".cost").text
        check(dollars(cost) == Decimal(tier["cost_micros"]) / 1_000_000, f"{tier['tier']} cost: page {cost} exact")
    bar_totals = sum(int(t.text) for t in driver.find_elements(By.CSS_SELECTOR, "#chart-questions .bar-total"))
    check(bar_totals == report["queries"], f"the daily bars add up to the month's questions ({bar_totals})")
    check(text(driver, "time-zone") == "Europe/Berlin", "the tenant's time zone is stated")
    check("pro" in text(driver, "plan"), "the plan is stated")
    shot(driver, "usage")

    # An empty month says so instead of drawing zeros: three years before the service's current
    # month (derived from the report, never a literal that was true when this was written).
    year, month = map(int, report["month"].split("-"))
    driver.get(URL + f"/dashboard?month={year - 3:04d}-{month:02d}")
    check(len(driver.find_elements(By.ID, "no-usage")) == 1 and not driver.find_elements(By.ID, "chart-questions"),
          "an empty month says so and draws no chart")

    # Escalations: the <script> question is text, and resolving one writes a correction.
    driver.get(URL + "/dashboard/escalations")
    rows = driver.find_elements(By.CSS_SELECTOR, "#escalations tr[data-query-id]")
    hostile = [r for r in rows if "<script>" in r.find_element(By.CSS_SELECTOR, ".question").text]
    check(len(hostile) == 1, "a question containing <script> is shown as text")
    try:
        driver.switch_to.alert
        check(False, "no script from a question runs")
    except NoAlertPresentException:
        check(True, "no script from a question runs")
    check("<script>alert" not in driver.page_source, "the page source has the question escaped")
    shot(driver, "escalations")
    target = hostile[0].get_attribute("data-query-id") if hostile else None
    if target:
        row = driver.find_element(By.CSS_SELECTOR, f"#escalations tr[data-query-id='{target}']")
        row.find_element(By.TAG_NAME, "textarea").send_keys("We never run scripts; here is the refund form.")
        submit(driver, row.find_element(By.CSS_SELECTOR, "button"), "flash")
        check(target in text(driver, "flash"), "the page confirms the answer")
        remaining = [r.get_attribute("data-query-id") for r in driver.find_elements(By.CSS_SELECTOR, "#escalations tr[data-query-id]")]
        check(target not in remaining, "the answered escalation leaves the list")
        status, query = api(f"/v1/queries/{target}", ACME_ADMIN)
        corrections = [r for r in query.get("ledger", []) if r["kind"] == "correction"]
        check(len(corrections) == 1 and corrections[0]["outcome"] == "agent_answer"
              and corrections[0]["answer"] == "We never run scripts; here is the refund form.",
              "the answer is a correction row in the ledger")

    # Forms need their CSRF token and this site's origin; refused forms change nothing.
    driver.get(URL + "/dashboard/escalations")
    others = [r.get_attribute("data-query-id") for r in driver.find_elements(By.CSS_SELECTOR, "#escalations tr[data-query-id]")]
    cookie = "cascade_session=" + next(c["value"] for c in driver.get_cookies() if c["name"] == "cascade_session")
    token = driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
    if others:
        victim = others[0]
        form = "answer=forged".encode()
        status, _, _ = http(f"/dashboard/escalations/{victim}/resolve", data=form, method="POST",
                            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        check(status == 403, f"a form without its CSRF token is refused ({status})")
        status, _, _ = http(f"/dashboard/escalations/{victim}/resolve", data=f"answer=forged&csrf={token}".encode(),
                            method="POST", headers={"Cookie": cookie, "Origin": "https://evil.example",
                                                    "Content-Type": "application/x-www-form-urlencoded"})
        check(status == 403, f"a form posted from another origin is refused ({status})")
        _, query = api(f"/v1/queries/{victim}", ACME_ADMIN)
        check(not any(r["kind"] == "correction" for r in query.get("ledger", [])), "refused forms wrote nothing")

    # Upload a document through the page; it becomes searchable.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "warranty.md")
        with open(path, "w") as f:
            f.write("# Warranty\n\nThe zorbulator warranty lasts 7 years and covers lunar dust damage.\n")
        driver.get(URL + "/dashboard/knowledge-base")
        before = int(text(driver, "documents"))
        driver.find_element(By.ID, "file").send_keys(path)
        submit(driver, driver.find_element(By.CSS_SELECTOR, "#upload button"), "flash")
        check("queued" in text(driver, "flash"), "the upload is queued as a job")
        status_text = ""
        for _ in range(120):
            rows = driver.find_elements(By.CSS_SELECTOR, "#jobs tr[data-job]")
            status_text = rows[0].get_attribute("data-status") if rows else ""
            if status_text in ("succeeded", "failed"):
                break
            time.sleep(0.5)
            driver.get(URL + "/dashboard/knowledge-base")
        check(status_text == "succeeded", f"the upload job succeeds ({status_text})")
        driver.get(URL + "/dashboard/knowledge-base")
        check(int(text(driver, "documents")) == before + 1, "the document count goes up by one")
        shot(driver, "knowledge-base")
        # A file that cannot be read: its job fails, and the page names the file and the reason.
        broken = os.path.join(folder, "broken.pdf")
        with open(broken, "wb") as f:
            f.write(b"this is not a PDF at all")
        driver.find_element(By.ID, "file").send_keys(broken)
        submit(driver, driver.find_element(By.CSS_SELECTOR, "#upload button"), "flash")
        failed = None
        for _ in range(60):
            driver.get(URL + "/dashboard/knowledge-base")
            rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "#jobs tr[data-job]") if "broken.pdf" in r.text]
            if rows and rows[0].get_attribute("data-status") in ("succeeded", "failed"):
                failed = rows[0]
                break
            time.sleep(0.5)
        check(failed is not None and failed.get_attribute("data-status") == "failed"
              and failed.find_element(By.CSS_SELECTOR, ".why").text.strip() != "",
              f"a failed upload is listed with the file and the reason ({failed.text if failed else None!r})")
        status, found = api("/v1/search", ACME_QUERY, {"query": "zorbulator warranty lunar dust", "k": 3})
        sources = [r["source"] for r in found.get("results", [])]
        check(status == 200 and sources and sources[0].endswith("warranty.md"),
              f"the uploaded document is searchable ({sources[:1]})")

    # Phone width: the page does not scroll sideways.
    driver.set_window_size(390, 844)
    driver.get(URL + "/dashboard")
    overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    check(overflow <= 1, f"the usage page fits a phone's width (overflow {overflow}px)")
    shot(driver, "usage-phone", width=390)
    driver.set_window_size(1280, 800)

    # Scripts use the admin key as a Bearer token; a query key is refused.
    status, content_type, _ = http("/dashboard", ACME_ADMIN)
    check(status == 200 and content_type.startswith("text/html"), "a script reads the page with the admin key")
    status, _, _ = http("/dashboard", ACME_QUERY)
    check(status == 403, f"a query key is refused ({status})")

    # Another tenant's admin sees nothing of acme's.
    sign_in(driver, BETA_ADMIN)
    check(text(driver, "tenant") == "beta", "beta's admin sees beta's dashboard")
    check(text(driver, "queries") == "0" and driver.find_elements(By.ID, "no-usage"), "beta has no questions")
    driver.get(URL + "/dashboard/escalations")
    check("refund" not in driver.page_source.lower() and "script" not in driver.find_element(By.TAG_NAME, "main").text,
          "beta's escalations show none of acme's questions")
    driver.get(URL + "/dashboard/knowledge-base")
    check("warranty.md" not in driver.page_source, "beta's knowledge base shows none of acme's documents")

    # Sign-out ends the session.
    driver.get(URL + "/dashboard")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "header form button"), "key")
    driver.get(URL + "/dashboard")
    check("/dashboard/login" in driver.current_url, "after signing out the dashboard asks to sign in again")


main()
