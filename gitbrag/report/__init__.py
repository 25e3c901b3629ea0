"""The report stage, pure: one user's collection in, a report per period out (`build`), with
what a changed file is (`languages`), activity over time (`timeline`) and team sums (`teams`).
No I/O and no clock: the caller passes `now`."""
