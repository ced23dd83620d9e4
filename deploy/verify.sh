#!/bin/sh
# Check deploy/mistri-bot.service and deploy/mistri-bot-serve@.service (or the one unit file
# given) with `systemd-analyze verify`.
#
# `systemd-analyze verify` also checks that ExecStart's program exists, and on a CI machine
# /opt/mistri-bot/.venv/bin/mistri-bot does not. So: the original's ExecStart is checked here
# (an absolute path to the venv's mistri-bot, running `run`, or `serve` for the template
# unit `...@.service`), then a copy with ExecStart pointed at /bin/true is verified; every
# other line is the original's. A template is verified as one instance of it (port 8081),
# so that its %i is filled in. systemd-analyze exits 0 on unknown keys and unparsable values
# (it only warns), so any output counts as a failure. Without systemd-analyze (macOS, a
# minimal container) it says so and exits 0.
set -eu

if [ $# -eq 0 ]; then
    here=$(dirname "$0")
    sh "$0" "$here/mistri-bot.service"
    exec sh "$0" "$here/mistri-bot-serve@.service"
fi

unit=$1
name=$(basename "$unit")
case "$name" in
    *@.service)
        command=serve
        checked_as=${name%@.service}@8081.service
        ;;
    *)
        command=run
        checked_as=$name
        ;;
esac

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "verify.sh: systemd-analyze not found; $name not checked"
    exit 0
fi

exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
case "$exec_start" in
    /*/.venv/bin/mistri-bot\ "$command") ;;
    *)
        echo "verify.sh: $name: ExecStart must be <project>/.venv/bin/mistri-bot $command," \
            "found: ${exec_start:-nothing}" >&2
        exit 1
        ;;
esac
if [ "$(grep -c '^ExecStart=' "$unit")" -ne 1 ]; then
    echo "verify.sh: $name: exactly one ExecStart= line expected" >&2
    exit 1
fi

true_bin=/bin/true
[ -x "$true_bin" ] || true_bin=/usr/bin/true
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The same file name: systemd-analyze takes the unit's name (and type) from it.
sed "s#^ExecStart=.*#ExecStart=$true_bin $command#" "$unit" >"$dir/$checked_as"

if ! output=$(systemd-analyze verify "$dir/$checked_as" 2>&1); then
    printf '%s\n' "$output" >&2
    echo "verify.sh: $name: systemd-analyze verify failed" >&2
    exit 1
fi
if [ -n "$output" ]; then
    printf '%s\n' "$output" | sed "s#$dir/##" >&2
    echo "verify.sh: $name: systemd-analyze verify warned (see above)" >&2
    exit 1
fi
echo "verify.sh: $name: OK (systemd-analyze verify, ExecStart checked separately)"
