"""gitbrag: publishes static GitHub contribution ("brag") reports."""

__version__ = "0.1.0"
