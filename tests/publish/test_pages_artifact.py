"""The site folder is what `actions/upload-pages-artifact` can take as it is.

That action archives the folder with GNU tar (`--dereference --hard-dereference`, only
`.git` and `.github` excluded) and GitHub Pages refuses an artifact with links in it: so
after every pass, a killed one's successor included, the folder must hold no symbolic
link, no hard link (`st_nlink == 1`) and no hidden file, such as the temporary file of a
writer killed before its rename (Pages would publish it).
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.publish.safepath import sweep_temp_files
from tests.support import REFRESH, clean_env, refresh, wait_for

USERS = "steady-sam,zero-zoe,Mona-Lisa"
# What a writer killed between its write and its rename leaves behind (safepath.SiteRoot.write):
# its temporary files, and the mark it held at the site's root while it wrote.
LEFTOVERS = [
    ".index.html.0a1b2c3d4e5f.tmp",
    "steady-sam/.report.json.5f4e3d2c1b0a.tmp",
    "steady-sam/1_year/.index.html.123456abcdef.tmp",
    "assets/.style.css.abcdef123456.tmp",
    ".gitbrag-writer.0a1b2c3d4e5f.lock",
]


def refused_by_pages(site: Path) -> list[str]:
    """Everything below `site` that Pages' artifact would refuse or publish by mistake."""
    found: list[str] = []
    for folder, dirs, files in os.walk(site, followlinks=False):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            relative = path.relative_to(site).as_posix()
            if stat.S_ISLNK(info.st_mode):
                found.append(f"{relative}: a symbolic link")
            elif stat.S_ISREG(info.st_mode) and info.st_nlink != 1:
                found.append(f"{relative}: a hard link ({info.st_nlink} names)")
            elif not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
                found.append(f"{relative}: not a file")
            if name.startswith("."):
                found.append(f"{relative}: a hidden file")
    return found


def paths_from_the_servers_root(site: Path) -> list[str]:
    """Links and asset addresses that start at the server's root ("/x"): wrong when the site
    is served under a path prefix (`/REPO/`). Only the 404 page may have them, without
    GITBRAG_BASE_URL (it is served at any depth: nothing relative can work there)."""
    attribute = re.compile(r"""(?:href|src|srcset|action|content|data-[\w-]+)=["'](/[^/"'][^"']*)""")
    escaped = re.compile(r"&#34;(/[^/&][^&]*)&#34;|\]\((/[^/)][^)]*)\)")  # the embed snippets
    found = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in (".html", ".xml", ".svg", ".md") or path.name == "404.html":
            continue
        text = path.read_text(encoding="utf-8")
        hits = attribute.findall(text) + [a or b for a, b in escaped.findall(text)]
        found += [f"{path.relative_to(site)}: {hit}" for hit in hits]
    return found


def archive_as_pages_does(site: Path, tar: Path) -> list[str]:
    """The archive step of actions/upload-pages-artifact (its action.yml, Linux runners), then
    its listing: (type, name) lines of `tar -tv`."""
    subprocess.run(
        ["tar", "--dereference", "--hard-dereference", "--directory", str(site), "-cf", str(tar),
         "--exclude=.git", "--exclude=.github", "."],
        check=True,
    )  # fmt: skip
    listing = subprocess.run(["tar", "-tvf", str(tar)], check=True, capture_output=True, text=True)
    return listing.stdout.splitlines()


def written_since(site: Path, moment: float) -> bool:
    return any(p.stat().st_mtime >= moment for p in site.rglob("*") if p.is_file())


def plant_crash_leftovers(site: Path, seconds_ago: float) -> None:
    then = time.time() - seconds_ago
    for name in LEFTOVERS:
        path = site / name
        path.write_bytes(b"<html>half a page")
        os.chmod(path, 0o600)  # as the writer makes them
        os.utime(path, (then, then))


def test_after_a_killed_pass_the_site_holds_nothing_pages_would_refuse(tmp_path: Path) -> None:
    site = tmp_path / "site"
    with FakeGitHubServer(shared_dataset()) as fake:
        env = clean_env(GITHUB_TOKEN="t", GITBRAG_GITHUB_API_URL=fake.url, GITBRAG_USERS=USERS)
        first = refresh(tmp_path, env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        # A pass killed mid-publish (kill -9: no cleanup of its own), and the temporary
        # files such a kill leaves, from half a minute ago (a crash, then the next run).
        started = time.time()
        killed = subprocess.Popen([REFRESH, "--once", "--force", "--user", "steady-sam"], cwd=tmp_path,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        wait_for(lambda: killed.poll() is not None or written_since(site, started), 60, "a pass writing")
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        plant_crash_leftovers(site, seconds_ago=30)

        second = refresh(tmp_path, env=env)
        assert second.returncode == 0, second.stderr[-3000:]
    assert refused_by_pages(site) == []
    assert paths_from_the_servers_root(site) == []
    listing = archive_as_pages_does(site, tmp_path / "artifact.tar")
    assert [line for line in listing if not line.startswith(("-", "d"))] == []  # no link entry
    names = [line.split()[-1] for line in listing]
    assert [n for n in names if "/." in n and n != "./"] == [], names
    assert "./steady-sam/1_year/index.html" in names and "./404.html" in names


def test_a_live_writers_temporary_file_is_kept_a_dead_ones_is_swept(tmp_path: Path) -> None:
    folder = tmp_path / "steady-sam"
    folder.mkdir()
    tmp = folder / ".index.html.abc123abc123.tmp"
    tmp.write_bytes(b"<html>being written")
    half_a_minute_ago = time.time() - 30
    os.utime(tmp, (half_a_minute_ago, half_a_minute_ago))
    writer = os.open(tmp, os.O_WRONLY)
    try:
        fcntl.flock(writer, fcntl.LOCK_EX)  # what a live writer holds from creation to rename
        assert sweep_temp_files(tmp_path) == 0
        assert tmp.exists()
    finally:
        os.close(writer)  # the writer dies: the kernel drops its lock
    assert sweep_temp_files(tmp_path) == 1
    assert not tmp.exists()
