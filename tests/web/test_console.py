"""The console in a real browser against a running service and the EWS sandbox.

Each test does what an administrator does and keeps a screenshot of every page it saw
(``test-artifacts/screenshots/``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from esexchange import config
from esexchange.domain.claims import CLAIM_NAME, new_claim
from esexchange.domain.model import Side
from esexchange.erp.port import Scope
from esexchange.erp.store import SqlErpStore
from tests.e2e.conftest import World, new_world
from tests.e2e.sandbox import SERVICE_PASSWORD, SERVICE_UPN, RunningSandbox
from tests.support.browser import screenshot
from tests.support.service import ServiceProcess, wait_for
from tests.web.conftest import ADMIN, PASSWORD, sign_in

pytestmark = [pytest.mark.parametrize("erp", ["sqlite"], indirect=True, scope="module"),
              pytest.mark.slow]


def test_a_wrong_password_is_refused_and_the_right_one_signs_in_and_out(
    browser_page: Any, console: ServiceProcess
) -> None:
    page = browser_page
    page.goto(console.url)
    assert page.url.endswith("/signin?next=/status")
    screenshot(page, "01-signin")
    sign_in(page, console, password="not the password")
    assert page.locator("[role=alert]").inner_text() == "Wrong name or password."
    cookie = next(c for c in page.context.cookies() if c["name"] == "esx_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    sign_in(page, console)
    page.wait_for_url("**/status")
    assert page.locator("h1").inner_text() == "Status"
    page.click("text=Sign out")
    page.wait_for_url("**/signin")
    page.goto(f"{console.url}/connections")
    assert "/signin" in page.url


def test_a_form_without_its_csrf_token_is_refused(
    admin_page: Any, console: ServiceProcess, erp: Engine
) -> None:
    cookies = {c["name"]: c["value"] for c in admin_page.context.cookies()}
    refused = httpx.post(f"{console.url}/activity-types", data={"no": "10", "color": "3"},
                         cookies=cookies)
    assert refused.status_code == 403 and "security token" in refused.text
    forged = httpx.post(f"{console.url}/activity-types",
                        data={"no": "10", "color": "3", "csrf": "guessed"}, cookies=cookies)
    assert forged.status_code == 403
    assert next(t for t in config.activity_types(erp) if t.no == 10).color != 3


def test_add_a_connection_through_the_form_and_check_it(
    admin_page: Any, console: ServiceProcess, sandbox: RunningSandbox, erp: Engine
) -> None:
    page = admin_page
    page.click("text=Connections")
    page.click("text=Add connection")
    assert not page.locator("input[name=tenant_id]").is_visible()  # user sign-in chosen
    page.check("input[name=auth][value=app]")
    assert page.locator("input[name=tenant_id]").is_visible()
    assert not page.locator("input[name=upn]").is_visible()
    page.check("input[name=auth][value=user]")
    page.fill("input[name=name]", "head-office")
    page.fill("input[name=upn]", SERVICE_UPN)
    page.locator(".when-user input[name=secret]").fill(SERVICE_PASSWORD)
    page.check("input[name=server][value=url]")
    page.fill("input[name=ews_url]", sandbox.ews_url)
    screenshot(page, "02-connection-form")
    page.click("button:text('Save')")
    page.wait_for_url("**/connections?saved=head-office")

    card = page.locator("#c-head-office")
    card.locator("button:text('Check connection')").click()
    card.locator(".results").wait_for()
    assert "accepted " + SERVICE_UPN in card.locator(".results").inner_text()
    screenshot(page, "03-connections-checked")
    assert config.get_connection(erp, "head-office").ews_url == sandbox.ews_url

    page.goto(f"{console.url}/connections/head-office/edit")
    screenshot(page, "04-connection-edit")
    for path in ("/connections", "/connections/head-office/edit", "/status",
                 "/connections/head-office/options", "/metrics"):
        page.goto(f"{console.url}{path}")
        assert SERVICE_PASSWORD not in page.content()
    assert SERVICE_PASSWORD not in console.output()


def test_options_explain_themselves_and_show_the_effective_start(
    admin_page: Any, console: ServiceProcess, world: World
) -> None:
    page = admin_page
    page.goto(f"{console.url}/connections/{world.connection}/options")
    row = page.locator("#o-start_sync_at")
    assert "effective now" in row.inner_text()
    assert "30 days" in row.locator(".help").inner_text()
    page.fill("#f-window_future_days", "90")
    page.uncheck("#f-priority_as_text") if page.is_checked("#f-priority_as_text") else None
    page.check("#f-equipment_as_text")
    page.click("button:text('Save')")
    page.locator(".message").wait_for()
    options = config.options(world.engine, world.connection)
    assert options.window_future_days == 90 and options.equipment_as_text
    screenshot(page, "05-options")
    page.fill("#f-window_future_days", "-3")
    page.click("button:text('Save')")
    assert "window_future_days" in page.locator("[role=alert]").inner_text()


def test_move_two_employees_to_the_synchronized_list_and_check_their_assignment(
    admin_page: Any, console: ServiceProcess, world: World
) -> None:
    anna, ben = world.employee(listed=False), world.employee(listed=False)
    page = admin_page
    page.goto(f"{console.url}/connections/{world.connection}/personnel")
    page.fill("input[data-filter='#others']", anna.email)
    assert page.locator(f"#others option[value='{ben.email}']").is_hidden()
    page.fill("input[data-filter='#others']", "")
    page.select_option("#others", [anna.email, ben.email])
    page.click("button[aria-label='add selected']")
    page.wait_for_selector(f"#listed option[value='{anna.email}']", state="attached")
    listed = {p.email for p, _ in config.personnel(world.engine, world.connection)}
    assert listed == {anna.email, ben.email}

    page.click("button:text('Check assignment')")
    page.locator("#assignment .results").wait_for()
    results = page.locator("#assignment").inner_text()
    assert anna.email in results and ben.email in results and "failed" not in results

    page.uncheck(f"input[aria-label='{ben.email} delete_tasks_in_erp']")
    page.click("form[action$='/personnel/settings'] button:text('Save')")
    page.wait_for_load_state()
    settings = dict(config.personnel(world.engine, world.connection))
    assert not next(s for p, s in settings.items() if p.email == ben.email).delete_tasks_in_erp
    screenshot(page, "06-personnel")


def test_set_an_activity_type_colour_with_the_outlook_presets(
    admin_page: Any, console: ServiceProcess, erp: Engine
) -> None:
    page = admin_page
    page.click("text=Activity types")
    row = page.locator("#t-30")
    assert "ES_30_Schulung" in row.inner_text()
    assert row.locator("button.swatch").count() == 26  # no colour and Outlook's 25 presets
    row.locator("button[aria-label='30 Dark Green']").click()
    page.wait_for_load_state()
    assert next(t for t in config.activity_types(erp) if t.no == 30).color == 19
    assert "chosen" in (page.locator("#t-30 button[aria-label='30 Dark Green']")
                        .get_attribute("class") or "")
    screenshot(page, "07-activity-types")


def test_the_status_page_shows_a_pass_after_an_erp_change(
    admin_page: Any, console: ServiceProcess, world: World
) -> None:
    anna = world.employee()
    world.add("appointment", "Seen on the status page", anna)
    page = admin_page
    row = page.locator(f"tr.mailbox[data-email='{anna.email}']")

    # The row shows the newest pass; the service passes every second (and the echo of its
    # own write wakes one more), so the pass that carried the change may already be
    # followed by one that moved nothing: wait for the change, then for an ok pass after it.
    wait_for(lambda: anna.outlook.subjects("appointment") == ["Seen on the status page"],
             60, "the appointment in Outlook")

    def passed() -> bool:
        page.goto(f"{console.url}/status")
        return row.count() == 1 and "ok" in row.inner_text()

    wait_for(passed, 60, "the pass to show")
    screenshot(page, "08-status")
    page.click("text=Workers")
    assert "running" in page.locator("table").inner_text()
    screenshot(page, "09-workers")
    page.click("text=Audit log")
    page.fill("input[name=employee]", anna.email)
    page.click("button:text('Search')")
    assert "Seen on the status page" in page.locator("table").inner_text() or \
        anna.email in page.locator("table").inner_text()
    screenshot(page, "10-audit")


def test_approve_deletions_the_circuit_breaker_held(
    admin_page: Any, console: ServiceProcess, erp: Engine, sandbox: RunningSandbox
) -> None:
    world = new_world(erp, sandbox)
    anna = world.employee()
    ids = [world.add("task", f"Task {n}", anna) for n in range(12)]
    wait_for(lambda: len(anna.outlook.subjects("task")) == 12, 60, "the tasks in Exchange")
    for activity_id in ids:
        world.delete_activity(activity_id)
    page = admin_page
    held = page.locator(f"tr.mailbox[data-email='{anna.email}'] form.held")

    def shown() -> bool:
        page.goto(f"{console.url}/status")
        return held.count() == 1

    wait_for(shown, 60, "the held deletions")
    assert "12" in held.inner_text() and len(anna.outlook.subjects("task")) == 12
    screenshot(page, "11-status-held-deletions")
    held.locator("button:text('Approve deletions')").click()
    page.locator(".message").wait_for()
    assert anna.outlook.subjects("task") == []


def test_reject_deletions_the_circuit_breaker_held(
    admin_page: Any, console: ServiceProcess, erp: Engine, sandbox: RunningSandbox
) -> None:
    world = new_world(erp, sandbox)
    ben = world.employee()
    ids = [world.add("task", f"Task {n}", ben) for n in range(12)]
    wait_for(lambda: len(ben.outlook.subjects("task")) == 12, 60, "the tasks in Exchange")
    for activity_id in ids:
        world.delete_activity(activity_id)
    page = admin_page
    held = page.locator(f"tr.mailbox[data-email='{ben.email}'] form.held")

    def shown() -> bool:
        page.goto(f"{console.url}/status")
        return held.count() == 1

    wait_for(shown, 60, "the held deletions")
    held.locator("button:text('Reject deletions')").click()
    assert "deletions rejected" in page.locator(".message").inner_text()
    screenshot(page, "14-status-deletions-rejected")
    wait_for(lambda: not shown(), 30, "no deletions held any more")
    assert len(ben.outlook.subjects("task")) == 12  # the copies are kept


def test_switch_the_language_to_german(admin_page: Any, console: ServiceProcess) -> None:
    page = admin_page
    page.click("a[hreflang=de]")
    page.wait_for_url("**/status")
    assert page.locator("header nav").inner_text().split() [:2] == ["Status", "Verbindungen"]
    assert page.locator("html").get_attribute("lang") == "de"
    screenshot(page, "12-status-german")
    page.click("text=Verbindungen")
    assert "Verbindung hinzufügen" in page.content()
    page.click("a[hreflang=en]")
    page.wait_for_url("**/connections")
    assert "Add connection" in page.content()


def test_take_over_a_mailbox_another_installation_claimed(
    admin_page: Any, console: ServiceProcess, world: World
) -> None:
    anna = world.employee(listed=False)
    other = new_claim("0123456789abcdef", "postgresql://test-erp:5432/erp", "test-host",
                      datetime.now(UTC), timedelta(hours=1))
    anna.outlook.account.calendar.create_user_configuration(
        name=CLAIM_NAME, dictionary=other.to_fields())
    world.add("appointment", "After the take-over", anna)
    config.add_personnel(world.engine, world.connection, [anna.email])
    page = admin_page
    claim = page.locator(f"tr.mailbox[data-email='{anna.email}'] form.claim")

    def refused() -> bool:
        page.goto(f"{console.url}/status")
        return claim.count() == 1

    wait_for(refused, 60, "the refused pass")
    row = page.locator(f"tr.mailbox[data-email='{anna.email}']").inner_text()
    assert "claimed by installation 0123456789abcdef" in row and "test-host" in row
    assert anna.outlook.subjects("appointment") == []
    screenshot(page, "13-status-claimed-mailbox")
    claim.locator("button").click()
    assert "claimed for this installation" in page.locator(".message").inner_text()
    wait_for(lambda: anna.outlook.subjects("appointment") == ["After the take-over"], 60,
             "the pass after the take-over")


def test_resolve_a_conflict_by_applying_the_other_side(
    admin_page: Any, console: ServiceProcess, world: World
) -> None:
    carla = world.employee()
    erp_id = world.add("appointment", "Kick-off", carla)
    wait_for(lambda: carla.outlook.subjects("appointment") == ["Kick-off"], 60, "the copy")
    # What a pass records when both sides renamed it and the ERP won (the engine's call).
    store = SqlErpStore(world.engine)
    scope = Scope(config.get_connection(world.engine, world.connection).id or 0, carla.id)
    with store.transaction() as tx:
        tx.record_conflict(scope, erp_id, "subject", "Kick-off", "Kick-off (moved)", Side.ERP)
        tx.commit()
    page = admin_page
    page.goto(f"{console.url}/status")
    row = page.locator(f"#c-{world.connection} table.conflicts tbody tr").first
    assert "Kick-off (moved)" in row.inner_text() and "open" in row.inner_text()
    screenshot(page, "15-status-conflict-open")

    row.locator("button:text('Apply the Exchange value')").click()
    assert "Kick-off (moved)" in page.locator(".message").inner_text()
    wait_for(lambda: carla.outlook.subjects("appointment") == ["Kick-off (moved)"], 60,
             "the pass that carries the applied value")
    page.goto(f"{console.url}/status")
    row = page.locator(f"#c-{world.connection} table.conflicts tbody tr").first
    assert "resolved" in row.inner_text() and "erika" in row.inner_text()
    screenshot(page, "16-status-conflict-resolved")


def test_the_status_page_lists_the_parked_items_with_the_reason(
    admin_page: Any, console: ServiceProcess, world: World
) -> None:
    dora = world.employee()
    far = world.add_task("Far away", dora, due_at=datetime(1500, 1, 1))
    page = admin_page
    parked = page.locator(f"tr.mailbox[data-email='{dora.email}'] details.parked")

    def shown() -> bool:
        page.goto(f"{console.url}/status")
        return parked.count() == 1

    wait_for(shown, 60, "the parked item")
    parked.locator("summary").click()
    text = parked.inner_text()
    assert "Parked items: 1" in text and f"ERP activity {far}" in text
    assert "outside the range Exchange accepts" in text
    screenshot(page, "17-status-parked-items")
    assert "esexchange_parked_items{kind=\"task\"}" in console.get("/metrics").text


def test_a_sign_in_holds_on_every_service_of_the_database_until_sign_out(
    console: ServiceProcess, erp: Engine, start_service: Callable[..., ServiceProcess],
) -> None:
    first = httpx.Client(base_url=console.url, follow_redirects=False, timeout=30)
    form = first.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    signed_in = first.post("/signin", data={"csrf": csrf.group(1), "name": ADMIN,
                                            "password": PASSWORD, "next": "/status"})
    assert signed_in.status_code == 303
    cookie = {"esx_session": first.cookies["esx_session"]}
    assert cookie["esx_session"] not in str(erp_rows(erp))  # only its hash is stored

    second = start_service(erp, "--interval-seconds", "3600")  # another worker, or a restart
    page = httpx.get(f"{second.url}/status", cookies=cookie, follow_redirects=False)
    assert page.status_code == 200 and "Sign out" in page.text
    csrf_on_second = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf_on_second is not None
    httpx.post(f"{second.url}/signout", cookies=cookie, data={"csrf": csrf_on_second.group(1)})

    assert first.get("/status").status_code == 303  # signed out everywhere
    assert second.stop() == 0


def erp_rows(erp: Engine) -> list[tuple[object, ...]]:
    with erp.connect() as db:
        return [tuple(r) for r in db.execute(text("SELECT * FROM esx_console_session"))]
