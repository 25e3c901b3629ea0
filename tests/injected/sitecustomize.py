"""Loaded at start by a child Python whose PYTHONPATH leads with this folder (see
`tests.injected_fs.child_env`): installs the filesystem failures its environment names."""

from tests.injected_fs import install_from_env

install_from_env()
