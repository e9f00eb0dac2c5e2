"""Browser tests: Playwright drives Debian's Chromium (`make browser` installs it; Playwright
downloads no browser) against a live gunicorn serving this run's test databases (`shop_server`),
or, for the staff journey, also against the split services of the session (`shop`).

Tests here are transactional, so the server process sees what they commit. On failure the page's
screenshot and HTML are saved under test-artifacts/browser/ and their paths printed.
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests
from playwright.sync_api import sync_playwright

from config.service_apps import DOMAIN_APPS
from tests.support.processes import ARTIFACTS, database_env, start_http_server
from tests.support.users import PASSWORD, StaffFactory, UserFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.failed and page is not None and not page.is_closed():
        folder = ARTIFACTS / "browser"
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / re.sub(r"[^\w.-]+", "_", item.nodeid)
        page.screenshot(path=f"{stem}.png", full_page=True)
        (folder / f"{stem.name}.html").write_text(page.content())
        saved = f"page at {page.url}: {stem}.png, {stem}.html"
        report.sections.append(("browser", saved))
        print(f"\nBrowser artifacts of {item.nodeid}: {saved}")
    return report


@pytest.fixture(scope="session")
def chromium():
    # Sync Playwright keeps an event loop on this thread, which Django takes for async code; the
    # test's database calls are plain synchronous ones all the same.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shop_server(django_db_setup):
    """The monolith on a free port, on this run's databases."""
    server = start_http_server("browser-monolith", database_env())
    yield server
    server.stop()


@pytest.fixture
def page(chromium):
    """A page of its own browser context. Each process's admin names its cookies after its
    service, so one context holds a session with every split admin at once."""
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, base_url, email, password=PASSWORD):
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#logout-form")  # only a signed-in page has it


class Api:
    """The REST API of the server under test, as a client would call it."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def token(self, email, password=PASSWORD) -> str:
        response = requests.post(f"{self.base_url}/api/v1/auth/token",
                                 json={"email": email, "password": password}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["access"]

    def call(self, method, path, token=None, expect=200, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.request(method, f"{self.base_url}/api/v1/{path}", headers=headers,
                                    timeout=20, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()


    def register(self) -> str:
        """A new shopper's e-mail (their password is PASSWORD)."""
        email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
        self.call("POST", "auth/register", expect=201,
                  json={"email": email, "password": PASSWORD, "first_name": "Ada"})
        return email


@dataclass
class Shop:
    """A deployment as staff and shoppers reach it: the API, each app's admin, a staff account."""

    mode: str
    api: Api
    admin_urls: dict[str, str]  # app -> the server whose /admin/ serves it
    staff_email: str
    staff_password: str
    new_shopper: Callable[[], str]  # a new shopper's e-mail; their password is PASSWORD

    def admin(self, app: str, path: str = "") -> str:
        return f"{self.admin_urls[app]}/admin/{app}/{path}"


@pytest.fixture(params=["monolith", "split"])
def shop(request) -> Shop:
    """The monolith on this run's test databases, or the split services of the session's
    end-to-end topology (tests/support/deployments.py: started once, shared with tests/e2e)."""
    if request.param == "monolith":
        server = request.getfixturevalue("shop_server")
        staff = StaffFactory(is_superuser=True)
        return Shop("monolith", Api(server.url), dict.fromkeys(DOMAIN_APPS, server.url), staff.email,
                    PASSWORD, lambda: UserFactory().email)
    deployment = request.getfixturevalue("split_deployment")
    topology, api = deployment.topology, Api(deployment.base_url)
    admin_urls = {app: topology.service_url(topology.group_serving(app)) for app in DOMAIN_APPS}
    return Shop("split", api, admin_urls, deployment.staff_email, deployment.staff_password, api.register)
