"""What a person does in the browser tests' Chromium (tests/fixtures/browser.py starts it)."""

from tests.support.users import PASSWORD


def sign_in(page, base_url, email, password=PASSWORD):
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#logout-form")  # only a signed-in page has it
