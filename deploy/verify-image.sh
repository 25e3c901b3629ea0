#!/usr/bin/env bash
# deploy/verify-image.sh: build the gitbrag image and check it works, with no Docker engine
# and no container registry (issue 16). This is a benchmark-style check that you run by hand.
# It is not part of the test suite.
#
#   deploy/verify-image.sh            # from anywhere in the repository; needs root and podman
#
# What it does:
#   1. Base image. The Dockerfile builds FROM python:3.11-slim, which no registry here can
#      serve. Use a real copy if podman already has one. Otherwise import a stand-in:
#      Debian bookworm from debootstrap (Python 3.11) with `python` linked to python3 and
#      EXTERNALLY-MANAGED removed. Its pip trusts this machine's CA bundle and uses this
#      machine's package index. The rootfs tarball is cached under
#      ${XDG_CACHE_HOME:-~/.cache}/gitbrag/, so later runs skip debootstrap.
#   2. Build the Dockerfile unchanged: podman build --pull=never --isolation chroot.
#      --format docker keeps the HEALTHCHECK, which the OCI format drops.
#   3. `podman run` cannot work here (cgroups v1/hybrid), but RUN steps can. So a generated
#      Containerfile FROM the image runs the checks in RUN steps, as the image's own USER.
#      A test token reaches those steps only through a build secret, never as an ARG or ENV.
#   4. On the host: the token is not in the image's history or its saved layers.
# One line per check (PASS/FAIL), then a summary. The exit status is non-zero if any check fails.
# Environment: GITBRAG_IMAGE (default gitbrag), GITBRAG_DEBIAN_MIRROR, XDG_CACHE_HOME.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${GITBRAG_IMAGE:-gitbrag}
base=docker.io/library/python:3.11-slim
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gitbrag
standin_tar=$cache/python-3.11-slim-standin.tar
verify_tag=localhost/gitbrag-verify:tmp
# Made fresh on every run and passed to the checks only at run time (as a build secret).
marker="ghp_verify$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

work=$(mktemp -d)
cleanup() {
    podman rmi -f "$verify_tag" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

t0=$SECONDS
say() { printf '[%4ds] %s\n' "$((SECONDS - t0))" "$*"; }

passed=0 failed=0
check() { # check NAME STATUS [DETAIL]: record and print one result line
    if [[ $2 == PASS ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    printf '%s  %s%s\n' "$2" "$1" "${3:+ ($3)}"
}

# --- tools ------------------------------------------------------------------------------
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
    say "installing podman and debootstrap (Debian packages)"
    apt-get install -y podman debootstrap >"$work/apt.log" 2>&1 || {
        cat "$work/apt.log"
        exit 1
    }
fi

# --- 1. the base image --------------------------------------------------------------------
# pip settings for the stand-in, copied from this machine. Copy only what also works inside
# the chroot: index URLs over the network, trusted hosts and timeout. Local paths
# (find-links, file:// indexes, constraint files) do not exist in there.
host_pip_conf() {
    local key value
    for key in index-url extra-index-url trusted-host timeout; do
        value=$( (pip3 config list 2>/dev/null || true) |
            sed -n "s/^[a-z:]*\.${key}='\(.*\)'$/\1/p" | tail -n1)
        case $key in # the PIP_* environment wins, as it does for pip itself
            index-url) value=${PIP_INDEX_URL:-$value} ;;
            extra-index-url) value=${PIP_EXTRA_INDEX_URL:-$value} ;;
            trusted-host) value=${PIP_TRUSTED_HOST:-$value} ;;
            timeout) value=${PIP_DEFAULT_TIMEOUT:-${PIP_TIMEOUT:-$value}} ;;
        esac
        if [[ $key == *index-url ]]; then # keep network URLs only
            value=$(tr ' ' '\n' <<<"$value" | grep -E '^https?://' | paste -sd' ' || true)
        fi
        [[ -n $value ]] && printf '%s = %s\n' "$key" "$value"
    done
    return 0
}

make_standin() {
    local rootfs=$work/rootfs mirror host_ca
    mirror=${GITBRAG_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' \
        /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}
    mirror=${mirror:-http://deb.debian.org/debian}
    say "debootstrap bookworm from $mirror (a few minutes; cached afterwards)"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log"
        return 1
    }
    ln -sf python3 "$rootfs/usr/bin/python"
    [[ -e $rootfs/usr/bin/pip ]] || ln -s pip3 "$rootfs/usr/bin/pip"
    rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
    # Trust the same CAs as this machine. Without this, pip's downloads fail verification here.
    host_ca=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
    install -D -m 0644 "$host_ca" "$rootfs/usr/local/share/gitbrag/host-ca.pem"
    {
        echo '[global]'
        echo 'cert = /usr/local/share/gitbrag/host-ca.pem'
        echo 'disable-pip-version-check = true'
        host_pip_conf
    } >"$rootfs/etc/pip.conf"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    mkdir -p "$cache"
    tar -C "$rootfs" -cf "$standin_tar.part" . && mv "$standin_tar.part" "$standin_tar"
    rm -rf "$rootfs"
}

if podman image exists "$base"; then
    say "base $base: present ($(podman image inspect --format \
        '{{index .Labels "io.gitbrag.standin"}}' "$base" | sed 's/^$/real image/'))"
else
    [[ -f $standin_tar ]] || make_standin
    say "base $base: importing the stand-in from $standin_tar"
    podman import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
        --change 'LABEL io.gitbrag.standin=debootstrap-bookworm' \
        "$standin_tar" "$base" >/dev/null 2>&1
fi

# --- 2. build the image -------------------------------------------------------------------
old_id=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
say "building $image from $repo/Dockerfile"
# --layers=false: no intermediate images are left behind, so the build is from scratch each time.
if podman build --pull=never --network host --isolation chroot --format docker --layers=false \
    -t "$image" "$repo" >"$work/build.log" 2>&1; then
    check "image builds from the Dockerfile" PASS
else
    check "image builds from the Dockerfile" FAIL "last lines below"
    tail -n 25 "$work/build.log"
    echo "summary: 0 passed, 1 failed"
    exit 1
fi
new_id=$(podman image inspect --format '{{.Id}}' "$image")
if [[ -n $old_id && $old_id != "$new_id" ]]; then # the previous run's image, now untagged
    podman rmi "$old_id" >/dev/null 2>&1 || true
fi

# --- image configuration ----------------------------------------------------------------
podman image inspect "$image" >"$work/inspect.json"
# Values read from the image (user, HEALTHCHECK, env) and the uid the Dockerfile asks for.
python3 - "$work" "$repo/Dockerfile" <<'EOF'
import json, re, shlex, sys
work, dockerfile = sys.argv[1], sys.argv[2]
img = json.load(open(f"{work}/inspect.json"))[0]
cfg = img.get("Config") or {}
# podman keeps it beside Config ("Healthcheck"); Docker keeps it in Config
hc = img.get("Healthcheck") or img.get("HealthCheck") or cfg.get("Healthcheck") or {}
test = hc.get("Test") or []
if test[:1] == ["CMD"]:
    cmd = shlex.join(test[1:])
elif test[:1] == ["CMD-SHELL"]:
    cmd = shlex.join(["/bin/sh", "-c", test[1]])
else:
    cmd = ""
uid = re.search(r"--uid[ =](\d+)", open(dockerfile).read())
open(f"{work}/healthcheck.sh", "w").write(cmd + "\n")
open(f"{work}/values", "w").write("\n".join([
    cfg.get("User") or "", uid.group(1) if uid else "", " ".join(cfg.get("Env") or []),
]) + "\n")
EOF
{ read -r image_user; read -r want_uid; read -r image_env; } <"$work/values"
healthcheck=$(cat "$work/healthcheck.sh")

if [[ -n $image_user && $image_user != root && $image_user != 0 && $image_user != 0:* ]]; then
    check "image USER is not root" PASS "USER $image_user"
else
    check "image USER is not root" FAIL "USER '${image_user}'"
fi
if [[ -n $healthcheck ]]; then
    check "image has a HEALTHCHECK" PASS
else
    check "image has a HEALTHCHECK" FAIL "none in the image config"
fi
if grep -Eq '(^| )(GITHUB_TOKEN|GITBRAG_GITHUB_TOKEN|GITBRAG_HOOK_SECRET)=' <<<"$image_env"; then
    check "no token or secret in the image ENV" FAIL "$image_env"
else
    check "no token or secret in the image ENV" PASS
fi

# --- 3. the checks inside the image, as its user ------------------------------------------
ctx=$work/verify
mkdir -p "$ctx"
printf '%s' "$marker" >"$work/token"
(cd "$repo/templates" && find . -type f | sed 's|^\./||' | sort) >"$ctx/templates.txt"
cp "$work/healthcheck.sh" "$ctx/healthcheck.sh"
cat >"$ctx/in-image.sh" <<'EOF'
#!/bin/bash
# Runs in a RUN step of the verification build, as the image's USER. Each check prints one
# line: "@check PASS|FAIL name (detail)"; lines about a failure start with "@detail".
# The step itself always succeeds.
set -uo pipefail
want_uid=$1
# The verification build shares the machine's network (`--network host`), where another
# service may hold the image's default port 8080: the hook, and the HEALTHCHECK command
# (which reads GITBRAG_HOOK_PORT), use a port free on this machine instead, so no answer
# can come from someone else's service.
GITBRAG_HOOK_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export GITBRAG_HOOK_PORT
ok() { echo "@check PASS $1${2:+ ($2)}"; }
ko() { echo "@check FAIL $1${2:+ ($2)}"; }
detail() { sed 's/^/@detail     /'; }
healthcheck() { # the image's own HEALTHCHECK command; no command counts as failing
    [[ -s /verify/healthcheck.sh ]] && timeout 10 bash /verify/healthcheck.sh >/dev/null 2>&1
}
healthz_status() { # the status /healthz answers right now (000: no answer)
    python - "${GITBRAG_HOOK_PORT:-8080}" <<'PY' 2>/dev/null || echo 000
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=4).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
token=$(cat /run/secrets/gh_token 2>/dev/null)
if [[ -n $token ]]; then ok "the run-time test token reaches the RUN step" "as a build secret"; else
    ko "the run-time test token reaches the RUN step" "/run/secrets/gh_token unreadable"
    token="(no token)"
fi

for cmd in gitbrag gitbrag-refresh gitbrag-fake-github; do
    if path=$(command -v "$cmd") && "$cmd" --help >/dev/null 2>&1; then
        ok "entry point $cmd is installed" "$path"
    else
        ko "entry point $cmd is installed" "missing or --help fails"
    fi
done
tdir=$(python -c 'import gitbrag, pathlib; print(pathlib.Path(gitbrag.__file__).parent / "templates")')
missing=0
while read -r f; do [[ -f $tdir/$f ]] || { missing=$((missing + 1)); echo "missing template: $f" | detail; }; done </verify/templates.txt
if [[ $missing -eq 0 ]]; then
    ok "templates are installed" "$(wc -l </verify/templates.txt) files in $tdir"
else
    ko "templates are installed" "$missing missing"
fi

uid=$(id -u)
if [[ $uid -ne 0 && $uid == "$want_uid" ]]; then
    ok "runs as the non-root user" "uid $uid ($(id -un))"
else
    ko "runs as the non-root user" "uid $uid, the Dockerfile says ${want_uid:-?}"
fi
for d in /data/site /data/state; do
    if touch "$d/.verify" && rm "$d/.verify"; then ok "$d is writable"; else ko "$d is writable"; fi
done

out=$(GITHUB_TOKEN=$token timeout 300 gitbrag-refresh --once --demo 2>&1)
rc=$?
reports=$(find /data/site -name report.json | wc -l)
if [[ $rc -eq 0 && $reports -gt 0 && -s ${GITBRAG_STATE_PATH:-/data/state/state.sqlite3} ]]; then
    ok "gitbrag-refresh --once --demo publishes into /data" "$reports report.json files, state $(du -h "$GITBRAG_STATE_PATH" | cut -f1)"
else
    ko "gitbrag-refresh --once --demo publishes into /data" "exit $rc, $reports reports"
    echo "$out" | tail -n 20 | detail
fi

# The service in the background, as the image's CMD would start it, with the demo GitHub.
GITHUB_TOKEN=$token gitbrag-refresh --demo >/tmp/service.log 2>&1 &
pid=$!
up=0
for _ in $(seq 60); do
    if healthcheck; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
done
status=$(healthz_status)
if [[ $up -eq 1 && $status == 200 ]]; then
    ok "the service starts and its HEALTHCHECK passes" "/healthz answered $status"
else
    ko "the service starts and its HEALTHCHECK passes" \
        "HEALTHCHECK $( ((up)) && echo passed || echo 'failed for 60 s'), /healthz answered $status"
    tail -n 20 /tmp/service.log | detail
fi

kill -TERM "$pid" 2>/dev/null
for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    ko "SIGTERM stops the service with exit 0" "still running after 30 s"
else
    wait "$pid"
    rc=$?
    if [[ $rc -eq 0 ]]; then ok "SIGTERM stops the service with exit 0"; else
        ko "SIGTERM stops the service with exit 0" "exit $rc"
        tail -n 20 /tmp/service.log | detail
    fi
fi

# The store made unwritable (as a read-only or wrongly owned volume would be): the
# HEALTHCHECK must then fail. The service is restarted on it, because an open SQLite
# connection in WAL mode would go on writing through its open files after a chmod.
chmod a-w /data/state "${GITBRAG_STATE_PATH}"*
GITHUB_TOKEN=$token gitbrag-refresh --demo >/tmp/service-ro.log 2>&1 &
pid=$!
for _ in $(seq 20); do
    [[ $(healthz_status) != 000 ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
done
status=$(healthz_status)
if healthcheck; then
    ko "HEALTHCHECK fails once the store is unwritable" "it passed, /healthz answered $status"
else
    if kill -0 "$pid" 2>/dev/null; then how="service up, /healthz answered $status"; else
        wait "$pid"
        how="the service exited $?: $(tail -n1 /tmp/service-ro.log | cut -c1-150)"
    fi
    ok "HEALTHCHECK fails once the store is unwritable" "$how"
fi
kill -TERM "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
chmod u+w /data/state "${GITBRAG_STATE_PATH}"*

# The token the checks ran with must not end up in what the service writes.
if grep -rqF "$token" /data/site /data/state /tmp/service.log 2>/dev/null; then
    ko "the run-time token is not written to /data or the logs"
else
    ok "the run-time token is not written to /data or the logs"
fi
exit 0
EOF
cat >"$ctx/Containerfile" <<EOF
# Generated by deploy/verify-image.sh. No USER line: the RUN step runs as the image's USER.
FROM localhost/$image:latest
COPY healthcheck.sh in-image.sh templates.txt /verify/
RUN --mount=type=secret,id=gh_token,mode=0444 bash /verify/in-image.sh '$want_uid'
EOF
say "running the checks inside a verification build FROM $image (as USER $image_user)"
if podman build --pull=never --network host --isolation chroot --layers=false \
    --secret id=gh_token,src="$work/token" -t "$verify_tag" "$ctx" >"$work/verify.log" 2>&1; then
    :
else
    check "the verification build runs" FAIL "last lines below"
    tail -n 25 "$work/verify.log"
fi
# Each "@check STATUS name (detail)" line of the build log becomes one result line.
while read -r _ status rest; do
    if [[ $status == PASS || $status == FAIL ]]; then check "$rest" "$status"; else printf '        %s\n' "$rest"; fi
done < <(grep -E '^@(check|detail) ' "$work/verify.log" | sed 's/^@detail /@detail - /')
podman rmi -f "$verify_tag" >/dev/null 2>&1 || true

# --- 4. no token in the image -------------------------------------------------------------
# The marker token was only ever in the build secret of the verification build; the image
# itself was built with no token at all. Neither may show in its history or its layers.
token_re='gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}'
podman history --no-trunc --format '{{.CreatedBy}}' "$image" >"$work/history.txt"
if grep -qF "$marker" "$work/history.txt" || grep -Eq "$token_re" "$work/history.txt"; then
    check "no token in podman history --no-trunc" FAIL
else
    check "no token in podman history --no-trunc" PASS "$(wc -l <"$work/history.txt") entries"
fi
podman save --format docker-archive -o "$work/image.tar" "$image" >/dev/null 2>&1
# The layers of a docker-archive are plain tars; look inside each so nothing hides in gzip.
if tar -xOf "$work/image.tar" | grep -aqF "$marker"; then
    check "no token in the saved image (podman save)" FAIL "the test token is in a layer"
elif tar -xOf "$work/image.tar" | grep -aqE "$token_re"; then
    check "no token in the saved image (podman save)" FAIL "a token-shaped string is in a layer"
else
    check "no token in the saved image (podman save)" PASS "$(du -h "$work/image.tar" | cut -f1) scanned"
fi
rm -f "$work/image.tar"

echo "summary: $passed passed, $failed failed ($((SECONDS - t0)) s)"
[[ $failed -eq 0 ]]
