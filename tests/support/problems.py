"""The error contract as a test checks it: a problem document (RFC 9457) with our `code`."""

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    """`response` (Django's test client or requests) is a `status` problem with `code` and a
    `detail`; returns its body for further checks."""
    body = response.content
    assert response.status_code == status, body
    assert response.headers["Content-Type"].split(";")[0] == PROBLEM, body
    problem = response.json()
    assert (problem["status"], problem["code"]) == (status, code), problem
    assert problem["detail"], problem
    return problem
