import signal

import pytest


@pytest.fixture
def alarm():
    """Fail (instead of hanging the suite) if a main-thread call does not return."""

    def on_alarm(signum, frame):
        raise AssertionError("reward call did not return within the test's hard limit")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
