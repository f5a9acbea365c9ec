"""Retrying a request inside a poll's time budget: shared by the network adapters."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from data_sources.base import PollContext, SourceError

T = TypeVar("T")


class Retryable(Exception):
    """An attempt failed in a way another attempt may fix (network, timeout, 5xx)."""


def poll_deadline(ctx: PollContext) -> float:
    """A ``time.monotonic()`` deadline a little before the poll's own limit, so the operator sees
    the adapter's explanation rather than a bare "poll took too long"."""
    return time.monotonic() + ctx.timeout_seconds - min(0.5, ctx.timeout_seconds * 0.1)


def within_deadline(attempt: Callable[[float], T], *, retries: int, request_timeout: float, backoff_seconds: float,
                    deadline: float, ctx: PollContext, what: str) -> T:
    """``attempt(timeout)`` until it returns, again on :class:`Retryable` after a doubling delay
    (``backoff_seconds``, 2×, 4×…), at most ``retries`` more times, never past ``deadline``.

    Raises SourceError with the last failure and the number of attempts; ``what`` names the
    request ("request <url>") when no attempt fitted in the time left.
    """
    attempts, made, last_error = retries + 1, 0, ""
    while made < attempts:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        made += 1
        try:
            return attempt(min(request_timeout, remaining))
        except Retryable as exc:
            last_error = str(exc)
        if made == attempts:
            break
        delay = backoff_seconds * 2 ** (made - 1)
        if time.monotonic() + delay >= deadline:
            # Sleeping would use up the poll's time: report now instead.
            last_error += f"; stopped retrying within the source's {ctx.timeout_seconds:g} s timeout"
            break
        time.sleep(delay)
    if not made:
        raise SourceError(f"no time left to {what} within the source's {ctx.timeout_seconds:g} s timeout")
    raise SourceError(f"{last_error} (gave up after {made} attempt{'s' if made != 1 else ''})")
