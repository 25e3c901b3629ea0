"""What one refresh may spend on requests that fail: a bound, whatever shape the failure takes.

Why: the client's own rules each look reasonable (a transient failure is sent up to five
times; a query GitHub stops as too slow is asked again smaller, a batch in two halves), but
they multiply. An incremental refresh of a user with 60 repositories while GitHub timed
out every GraphQL query made 307 queries (halves of halves, each leaf five times) and spent
1,842 points: three such users spend a 5,000-point hour. So each refresh gets a budget of
failed requests (`GITBRAG_GITHUB_RETRIES_PER_REFRESH`): every request the client sends while
a `retry_budget` is open is admitted by it first, and once the refresh's failed requests
(timeouts, 5xx, dropped connections, malformed answers: whatever made the client retry or
shrink) reach the budget, no further request is sent and the refresh fails with one line,
"gave up after N retries this pass".

A healthy refresh has no failed request, so the budget never cuts one short; a big one that
meets ordinary flakiness earns more as it goes: one more failed request is allowed for every
`ANSWERS_PER_RETRY` answered ones (maintainer-max's first refresh, ~1,200 requests, may
absorb some 600 failures on top of the base). Under a total outage nothing is answered, so a
refresh sends at most the base number of requests. Requests in flight count as possible
failures: once they could take the refresh past its budget, the next request waits for one
of them to settle, so the bound holds however many run at once.

Rate-limited answers are not failures here: they cost no points, and the client already
bounds its waits on them (`MAX_RATE_LIMIT_WAITS`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from gitbrag.github.errors import GitHubError, NotFound

# One more failed request allowed per this many answered: a refresh may spend up to half as
# much again as its useful work on failures (GitHub at its flakiest fails one answer in four).
ANSWERS_PER_RETRY = 2
SETTING = "GITBRAG_GITHUB_RETRIES_PER_REFRESH"


class RetriesSpent(GitHubError):
    """The refresh's budget of failed requests is spent: nothing more is sent for it."""

    def __init__(self, failed: int, last: str) -> None:
        reason = f": last {last}" if last else ""
        super().__init__(f"gave up after {failed} retries this pass ({SETTING}){reason}")
        self.failed = failed


@dataclass(eq=False)
class RetryBudget:
    """One refresh's failed requests, answered ones and those in flight."""

    allowed: int  # failed requests tolerated before anything is answered
    failed: int = 0
    answered: int = 0
    in_flight: int = 0
    closed: bool = False  # the refresh is over: work it left running sends nothing more
    last_failure: str = ""
    _settled: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def limit(self) -> int:
        return self.allowed + self.answered // ANSWERS_PER_RETRY

    @property
    def spent(self) -> bool:
        return self.failed >= self.limit

    def blame(self, exc: GitHubError) -> GitHubError:
        """What to report for `exc`, a failure of the work the budget bounded: `RetriesSpent`
        once the budget is spent (the refresh gave up; which of its failed requests happened
        to surface first says less), else `exc` itself."""
        if self.spent and not isinstance(exc, RetriesSpent | NotFound):
            return RetriesSpent(self.failed, self.last_failure)
        return exc

    async def admit(self) -> None:
        """Let one request go, wait while those in flight could still spend the budget, or
        raise `RetriesSpent` once it is spent."""
        while True:
            if self.closed or self.spent:
                raise RetriesSpent(self.failed, self.last_failure)
            if self.failed + self.in_flight < self.limit:
                self.in_flight += 1
                return
            self._settled.clear()
            await self._settled.wait()

    def settle(self, failure: BaseException | None) -> None:
        """One admitted request is over: answered (None) or failed with `failure`."""
        self.in_flight -= 1
        if failure is None:
            self.answered += 1
        else:
            self.failed += 1
            self.last_failure = str(failure) or type(failure).__name__
        self._settled.set()

    def withdraw(self) -> None:
        """One admitted request was cancelled: neither answered nor failed."""
        self.in_flight -= 1
        self._settled.set()

    def close(self) -> None:
        self.closed = True
        self._settled.set()


_BUDGET: ContextVar[RetryBudget | None] = ContextVar("gitbrag_retry_budget", default=None)


@contextmanager
def retry_budget(allowed: int) -> Iterator[RetryBudget]:
    """Bound the failed requests of the work done inside (and of the tasks it starts, which
    inherit it); closed on the way out, so a task the work left running sends nothing more."""
    budget = RetryBudget(allowed)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)
        budget.close()


@asynccontextmanager
async def admitted() -> AsyncIterator[None]:
    """One attempt at a request, counted against the open `retry_budget` (if any): the
    client wraps each send in it. An exception from inside is a failed request."""
    budget = _BUDGET.get()
    if budget is None:
        yield
        return
    await budget.admit()
    try:
        yield
    except Exception as exc:
        budget.settle(exc)
        raise
    except BaseException:
        budget.withdraw()
        raise
    budget.settle(None)
