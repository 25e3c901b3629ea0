"""The three doors into the one refresh path, and their wiring: the command line (`cli`, with
`terminal` for `gitbrag report`), the long-running service (`service`), the HTTP hook
(`hook`, with `connections`, its guard against slow clients), `shutdown` (SIGTERM cuts waits
short) and `runtime` (settings in, a ready `Refresher` out)."""
