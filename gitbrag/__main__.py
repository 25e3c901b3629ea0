"""`python -m gitbrag` is the `gitbrag` command."""

from gitbrag.cli import main

raise SystemExit(main())
