#!/usr/bin/env python3
"""Drives the raftq web console in headless Chromium (Debian's chromium,
chromium-driver, python3-selenium): opens a group and either performs a
reset to a point in time through the "Reset Consumer Offset" dialog (the
keyboard opens it), previews, confirms, and prints as one JSON line the
per-queue result the dialog shows and the consumer offsets the page shows
afterwards; or undoes a reset from the history table and prints the
offsets shown then and the history rows. Used by
tests/browser/test_console.c.

  console_reset.py reset URL GROUP TOPIC YYYY-MM-DDTHH:MM:SS [SHOT.png]
  console_reset.py undo URL GROUP RESET_ID
(the time is UTC)."""
import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT_S = 30


def browser():
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1200,1100"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                            options=opts)


def reset_by_time(d, group, topic, when, shot):
    wait = WebDriverWait(d, WAIT_S)
    open_group(d, wait, group)
    opener = d.find_element(By.ID, "reset-open")
    opener.send_keys(Keys.ENTER)  # keyboard usable
    wait.until(lambda d: d.find_element(By.ID, "reset-dialog")
               .get_attribute("open") is not None)
    topics = Select(d.find_element(By.ID, "reset-topic"))
    topics.deselect_all()
    topics.select_by_value(topic)
    d.find_element(By.CSS_SELECTOR, 'input[name="method"][value="time"]').click()
    Select(d.find_element(By.ID, "reset-tz")).select_by_value("+00:00")
    d.execute_script(
        "const i = document.getElementById('reset-time');"
        "i.value = arguments[0];"
        "i.dispatchEvent(new Event('input', {bubbles: true}));", when)
    d.find_element(By.ID, "reset-preview").click()
    wait.until(lambda d: d.find_element(By.ID, "reset-confirm").is_enabled())
    if shot:
        d.find_element(By.ID, "reset-dialog").screenshot(shot)
    loaded = d.find_element(By.ID, "group-view").get_attribute("data-loaded")
    d.find_element(By.ID, "reset-confirm").click()
    wait.until(lambda d: d.find_element(By.ID, "group-view")
               .get_attribute("data-loaded") != loaded)
    rows = d.find_elements(By.CSS_SELECTOR, "#reset-result-table tbody tr")
    result = [{"topic": r.get_attribute("data-topic"),
               "broker_name": r.get_attribute("data-broker"),
               "queue_id": int(r.get_attribute("data-queue")),
               "offset": int(r.get_attribute("data-offset"))} for r in rows]
    status = d.find_element(By.ID, "reset-status").text
    d.find_element(By.ID, "reset-cancel").click()
    return {"status": status, "result": result, "shown": offsets_shown(d)}


def open_group(d, wait, group):
    btn = wait.until(lambda d: d.find_element(
        By.CSS_SELECTOR, f'#groups button[data-group="{group}"]'))
    btn.click()
    wait.until(lambda d: d.find_element(By.ID, "group-view")
               .get_attribute("data-loaded"))


def undo(d, group, reset_id):
    """Undoes @reset_id from the history table (confirm accepted)."""
    wait = WebDriverWait(d, WAIT_S)
    open_group(d, wait, group)
    loaded = d.find_element(By.ID, "group-view").get_attribute("data-loaded")
    d.find_element(By.CSS_SELECTOR,
                   f'button[aria-label="Undo reset {reset_id}"]').click()
    wait.until(lambda d: d.switch_to.alert).accept()
    wait.until(lambda d: d.find_element(By.ID, "group-view")
               .get_attribute("data-loaded") != loaded)
    history = [r.text for r in
               d.find_elements(By.CSS_SELECTOR, "#history tbody tr")]
    return {"shown": offsets_shown(d), "history": history}


def offsets_shown(d):
    """The consumer offsets of the group's lag tables (None for '-')."""
    shown = []
    for r in d.find_elements(By.CSS_SELECTOR, "#group-topics tr[data-topic]"):
        off = r.find_element(By.CSS_SELECTOR, ".consumer-offset").text
        shown.append({"topic": r.get_attribute("data-topic"),
                      "broker_name": r.get_attribute("data-broker"),
                      "queue_id": int(r.get_attribute("data-queue")),
                      "consumer_offset": None if off == "-" else int(off)})
    return shown


def main():
    a = sys.argv[1:]
    if not ((len(a) in (5, 6) and a[0] == "reset") or
            (len(a) == 4 and a[0] == "undo")):
        sys.exit(__doc__)
    d = browser()
    try:
        d.get(a[1])
        if a[0] == "reset":
            out = reset_by_time(d, a[2], a[3], a[4],
                                a[5] if len(a) == 6 else None)
        else:
            out = undo(d, a[2], a[3])
        print(json.dumps(out))
        errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
        if errors:
            sys.exit(f"console errors: {errors}")
    finally:
        d.quit()


if __name__ == "__main__":
    main()
