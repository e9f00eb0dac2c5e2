import time

import pytest

from apps.common.api.errors import ServiceUnavailable
from grpc_api.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


def _opened(reset_timeout=0.05) -> CircuitBreaker:
    breaker = CircuitBreaker("inventory", failure_threshold=2, reset_timeout=reset_timeout)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    return breaker


def test_consecutive_failures_open_it_and_a_success_in_between_resets_the_count():
    breaker = CircuitBreaker("inventory", failure_threshold=2, reset_timeout=60)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == CLOSED
    breaker.record_failure()
    assert breaker.state == OPEN
    with pytest.raises(ServiceUnavailable, match="circuit open"):
        breaker.before_call()


def test_after_the_cool_down_one_trial_goes_through_and_its_success_closes_it():
    breaker = _opened()
    time.sleep(0.06)
    breaker.before_call()  # the trial
    assert breaker.state == HALF_OPEN
    with pytest.raises(ServiceUnavailable):
        breaker.before_call()  # everybody else still fails fast
    breaker.record_success()
    assert breaker.state == CLOSED
    breaker.before_call()


def test_a_failed_trial_opens_it_again_for_another_cool_down():
    breaker = _opened()
    time.sleep(0.06)
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == OPEN
    with pytest.raises(ServiceUnavailable):
        breaker.before_call()


def test_a_trial_that_never_reports_back_is_replaced_after_a_cool_down():
    breaker = _opened()
    time.sleep(0.06)
    breaker.before_call()  # this trial raises something unrelated and never reports
    time.sleep(0.06)
    breaker.before_call()
    assert breaker.state == HALF_OPEN
