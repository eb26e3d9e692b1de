from __future__ import annotations

import pytest

from cutover.core.ratelimit import RateLimiter, cloudflare_budget


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rolling_window_budget_is_never_exceeded():
    clock = FakeClock()
    limiter = RateLimiter(window_limit=1080, window_seconds=300, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(3000):
        limiter.acquire()
        stamps.append(clock.now)
    # in every rolling 300 s window there are at most 1080 requests
    j = 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - 300:
            j += 1
        assert i - j + 1 <= 1080
    # a burst inside the window is fine: the first 1080 went out without waiting
    assert stamps[1079] == stamps[0]
    assert limiter.waited["window"] > 0 and limiter.waited["rate"] == 0


def test_per_second_rate_spaces_requests():
    clock = FakeClock()
    limiter = RateLimiter(per_second=50, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(101):
        limiter.acquire()
    assert clock.now - start == pytest.approx(2.0)


def test_both_limits_report_which_one_binds():
    clock = FakeClock()
    reasons: list[str] = []
    limiter = RateLimiter(per_second=100, window_limit=10, window_seconds=60, clock=clock, sleep=clock.sleep,
                          on_wait=lambda s, why: reasons.append(why))
    for _ in range(25):
        limiter.acquire()
    assert "window" in reasons and "rate" in reasons
    assert limiter.in_window() <= 10


def test_window_frees_slots_as_time_passes():
    clock = FakeClock()
    limiter = RateLimiter(window_limit=2, window_seconds=10, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 4
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(6.0)  # waits until the first one leaves the window


@pytest.mark.parametrize(("headroom", "budget"), [(0.0, 1200), (0.1, 1080), (0.25, 900)])
def test_cloudflare_budget(headroom, budget):
    assert cloudflare_budget(headroom) == budget


def test_invalid_settings_are_rejected():
    with pytest.raises(ValueError):
        RateLimiter(per_second=0)
    with pytest.raises(ValueError):
        cloudflare_budget(1.0)
