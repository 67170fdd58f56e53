#!/bin/sh
# A private Docker engine for this machine (no registry reachable, no default daemon):
#   deploy/local/engine.sh start   install docker.io/debootstrap if missing, start dockerd,
#                                  install the compose and buildx plugins, build the base image
#   deploy/local/engine.sh stop    stop dockerd by its pid and unmount what it leaves behind
#   deploy/local/engine.sh env     print the exports a shell needs to talk to it (eval "$(…)")
#   deploy/local/engine.sh status  exit 0 when the engine answers
# Every step is idempotent: a running engine, an installed plugin or a built base is kept.
# The daemon has no bridge and touches no iptables: containers use host networking
# (deploy/compose/local.yaml). See ../shared/CONTAINERS.md for the measured facts behind it.
set -eu

ENGINE_DIR=${REELHOUSE_ENGINE_DIR:-/tmp/reelhouse-docker}
BASE_IMAGE=${REELHOUSE_BASE_IMAGE:-reelhouse/debian-python:bookworm}
SOCKET="$ENGINE_DIR/docker.sock"
PIDFILE="$ENGINE_DIR/docker.pid"
EXEC_ROOT="$ENGINE_DIR/exec"
DATA_ROOT="$ENGINE_DIR/data"
PLUGINS_DIR="$ENGINE_DIR/config/cli-plugins"
export DOCKER_HOST="unix://$SOCKET"
export DOCKER_CONFIG="$ENGINE_DIR/config"

say() { echo "engine: $*" >&2; }
die() { say "$*"; exit 1; }

# the first deb line of the machine's own apt sources (deb822 or one-line format)
mirror() {
    found=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1)
    [ -n "$found" ] || found=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v security | head -n 1)
    echo "${found:-http://deb.debian.org/debian}"
}

as_root() {
    [ "$(id -u)" = 0 ] || die "$1 needs root (run as root, or: sudo $0 start)"
}

install_packages() {
    missing=""
    command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
    command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
    [ -z "$missing" ] && return 0
    as_root "installing$missing"
    command -v apt-get >/dev/null 2>&1 || die "no apt-get: install$missing yourself"
    say "installing$missing (Debian packages)"
    # policy-rc.d keeps the package from starting a default daemon (with a bridge and iptables)
    timeout 600 apt-get update -q
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends $missing
}

running() {
    [ -S "$SOCKET" ] && [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
        && timeout 10 docker version >/dev/null 2>&1
}

start_daemon() {
    if running; then return 0; fi
    as_root "starting dockerd"
    mkdir -p "$ENGINE_DIR" "$DATA_ROOT" "$EXEC_ROOT"
    rm -f "$PIDFILE" "$SOCKET"
    say "starting dockerd (data under $ENGINE_DIR)"
    # docker-init (tini) for `init: true`: Debian ships it as tini
    init_path=""
    for candidate in /usr/bin/docker-init /usr/sbin/docker-init /usr/bin/tini-static /usr/bin/tini; do
        if [ -x "$candidate" ]; then init_path="--init-path=$candidate"; break; fi
    done
    nohup dockerd --host "$DOCKER_HOST" --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
        --pidfile "$PIDFILE" --bridge=none --iptables=false --ip6tables=false $init_path \
        >"$ENGINE_DIR/dockerd.log" 2>&1 </dev/null &
    tries=0
    until running; do
        tries=$((tries + 1))
        [ "$tries" -le 60 ] || { tail -n 20 "$ENGINE_DIR/dockerd.log" >&2; die "dockerd did not answer within 30 s"; }
        sleep 0.5
    done
}

# compose v2 and buildx: not packaged for bookworm; trixie's .debs run on it. Fetched under a
# private apt state so the system's sources stay untouched.
install_plugins() {
    [ -x "$PLUGINS_DIR/docker-compose" ] && [ -x "$PLUGINS_DIR/docker-buildx" ] && return 0
    state="$ENGINE_DIR/apt"
    mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs" "$PLUGINS_DIR"
    echo "deb $(mirror) trixie main" >"$state/sources.list"
    apt_opts="-o Dir::Etc::SourceList=$state/sources.list -o Dir::Etc::SourceParts=/nonexistent \
        -o Dir::State::Lists=$state/lists -o Dir::Cache=$state/cache -o Dir::State::Status=/dev/null \
        -o APT::Sandbox::User=root"
    say "fetching docker-compose and docker-buildx from Debian trixie"
    timeout 600 apt-get $apt_opts update -q >/dev/null
    (cd "$state/debs" && timeout 600 apt-get $apt_opts download docker-compose docker-buildx >/dev/null)
    for deb in "$state/debs"/*.deb; do
        dpkg-deb -x "$deb" "$state/root"
    done
    cp "$state/root/usr/libexec/docker/cli-plugins/"* "$PLUGINS_DIR/"
    rm -rf "$state"
}

# the base image: Debian bookworm minbase with python3 (3.11), venv and CA certificates,
# made with debootstrap because no image can be pulled here
build_base() {
    if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return 0; fi
    as_root "debootstrap"
    rootfs="$ENGINE_DIR/rootfs"
    rm -rf "$rootfs"
    say "building $BASE_IMAGE with debootstrap (about a minute)"
    timeout 900 debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" "$(mirror)" >"$ENGINE_DIR/debootstrap.log" 2>&1 \
        || { tail -n 20 "$ENGINE_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"* \
        "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/locale"
    tar -C "$rootfs" -c . | timeout 600 docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/sh"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
}

stop_daemon() {
    if [ -f "$PIDFILE" ]; then
        pid=$(cat "$PIDFILE")
        if kill -0 "$pid" 2>/dev/null; then
            say "stopping dockerd (pid $pid)"
            kill -TERM "$pid"
            tries=0
            while kill -0 "$pid" 2>/dev/null; do
                tries=$((tries + 1))
                if [ "$tries" -gt 60 ]; then say "dockerd still running after 30 s: killing it"; kill -KILL "$pid"; fi
                [ "$tries" -le 80 ] || break
                sleep 0.5
            done
        fi
        rm -f "$PIDFILE"
    fi
    # what a stopped daemon can leave mounted: its netns, container rootfs, shm
    if [ -r /proc/mounts ]; then
        awk -v root="$ENGINE_DIR/" 'index($2, root) == 1 {print $2}' /proc/mounts | sort -r | while read -r mnt; do
            umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || say "could not unmount $mnt"
        done
    fi
    rm -f "$SOCKET"
}

case "${1:-}" in
    start)
        install_packages
        start_daemon
        install_plugins
        build_base
        say "ready: DOCKER_HOST=$DOCKER_HOST DOCKER_CONFIG=$DOCKER_CONFIG"
        ;;
    stop) stop_daemon ;;
    status) running ;;
    env)
        echo "export DOCKER_HOST=$DOCKER_HOST"
        echo "export DOCKER_CONFIG=$DOCKER_CONFIG"
        echo "export REELHOUSE_BASE_IMAGE=$BASE_IMAGE"
        ;;
    *) die "usage: $0 start|stop|status|env" ;;
esac
