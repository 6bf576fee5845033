# Shared by scripts/run, scripts/test and scripts/bench: install what is missing, quietly,
# and only what is missing, so that running them again costs nothing.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

need_root_for() {
    if [ "$(id -u)" != 0 ]; then
        echo "scripts: missing $*; run as root once, or: apt-get install $*" >&2
        exit 1
    fi
}

# missing_packages PKG... : prints the ones dpkg does not have installed, one a line.
missing_packages() {
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
    done
}

# apt_ensure PKG... : installs the Debian packages that are not installed yet.
apt_ensure() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    [ ${#missing[@]} -eq 0 ] && return 0
    need_root_for "${missing[*]}"
    echo "scripts: installing ${missing[*]}" >&2
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        if [ -x /opt/swift/usr/bin/swift ]; then
            export PATH="/opt/swift/usr/bin:$PATH"
        else
            echo "scripts: no Swift toolchain found (swift on PATH or /opt/swift); install Swift 6 first" >&2
            exit 1
        fi
    fi
}

ensure_build_deps() {
    apt_ensure libgit2-dev libfuse3-dev fuse3 pkg-config git attr util-linux procps
    ensure_swift
    ensure_fuse_device
}

# The programs the write tests point at the mount, as users would (tmux gives nano a terminal),
# and the servers the remote tests run on 127.0.0.1 and in network namespaces of their own
# (Samba for the "Previous Versions" test, smbclient to ask it; git-lfs for the LFS tests;
# man-db, dpkg-dev, systemd-analyze and bash-completion for the install and package tests).
ensure_test_tools() {
    apt_ensure rsync vim nano tmux zip unzip tar coreutils python3 iproute2 openssh-client smbclient git-lfs \
        man-db dpkg-dev systemd bash-completion
    apt_ensure_servers openssh-server lighttpd samba
}

# apt_ensure_servers PKG... : installs server packages without starting them as services:
# the tests start their own instances (on 127.0.0.1, with their own config) and stop them.
# A freshly installed service is also left disabled, so the machine gains no open port.
apt_ensure_servers() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    [ ${#missing[@]} -eq 0 ] && return 0
    need_root_for "${missing[*]}"
    local policy=/usr/sbin/policy-rc.d made_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
    fi
    apt_ensure "${missing[@]}"
    [ -n "$made_policy" ] && rm -f "$policy"
    if [ -d /run/systemd/system ]; then
        for pkg in "${missing[@]}"; do
            case "$pkg" in
                openssh-server) systemctl disable --now ssh >/dev/null 2>&1 || true ;;
                lighttpd) systemctl disable --now lighttpd >/dev/null 2>&1 || true ;;
                samba) systemctl disable --now smbd nmbd samba-ad-dc >/dev/null 2>&1 || true ;;
            esac
        done
    fi
}

# Debian's fuse3 makes /dev/fuse mode 0666 (udev) so that any user can mount through
# fusermount3; machines without udev (containers, micro-VMs) may leave it 0600.
ensure_fuse_device() {
    if [ ! -c /dev/fuse ]; then
        echo "scripts: /dev/fuse is missing; load the fuse module (modprobe fuse)" >&2
        exit 1
    fi
    if [ "$(stat -c %a /dev/fuse)" != 666 ] && [ "$(id -u)" = 0 ]; then chmod 0666 /dev/fuse; fi
}

# A virtualenv with vost from PyPI, for the interoperability tests and the benchmarks.
ensure_vost() {
    local venv="$here/.build/vost-venv"
    if ! "$venv/bin/python" -c 'import vost' >/dev/null 2>&1; then
        if ! python3 -m venv --help >/dev/null 2>&1; then apt_ensure python3-venv; fi
        command -v python3 >/dev/null 2>&1 || apt_ensure python3 python3-venv
        mkdir -p "$here/.build"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check vost
    fi
    export VOST_PYTHON="$venv/bin/python"
}

# A virtualenv with giftless (a Git LFS server, from PyPI) for the LFS tests and benchmarks,
# which start and stop their own instances on 127.0.0.1.
ensure_giftless() {
    local venv="$here/.build/giftless-venv" requirements="$here/scripts/giftless-requirements.txt"
    if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null \
        || ! "$venv/bin/python" -c 'import giftless.wsgi_entrypoint' >/dev/null 2>&1; then
        if ! python3 -m venv --help >/dev/null 2>&1; then apt_ensure python3-venv; fi
        mkdir -p "$here/.build"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$venv/requirements.txt"
    fi
    export GIFTLESS_PYTHON="$venv/bin/python"
}

# The binary that is installed and packaged: release, with Swift's runtime linked in (so it
# runs where no Swift toolchain is), in a build folder of its own. Prints its path.
build_dist() {
    swift build -c release --static-swift-stdlib --scratch-path "$here/.build-dist" --product vostmount >&2
    echo "$here/.build-dist/release/vostmount"
}
