"""`python -m gitbrag` is the `gitbrag` command."""

from gitbrag.doors.cli import main

raise SystemExit(main())
