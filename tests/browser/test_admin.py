"""Django admin is where privacy officers work: it must run under our CSP without errors."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/auth/user/", "/admin/auth/user/add/", "/admin/auth/user/1/change/"]
)
def test_admin_pages_work_under_the_content_security_policy(
    page, page_errors, superuser, password, path
):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Log out").or_(
        page.get_by_role("button", name="Log out")
    ).wait_for()

    page.goto(path)
    page.wait_for_load_state("networkidle")

    assert page_errors == []
