"""What the local cluster needs from the machine, checked before anything starts, and the
one install step for its Debian packages (`make local-cluster-deps`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

#: Debian bookworm packages: the container runtime and CNI plugins, the node's packet
#: tools, and what the agnhost image copies (busybox, curl, dig).
PACKAGES = (
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "nftables",
    "busybox-static",
    "curl",
    "dnsutils",
    "openssl",
    "util-linux",
    "iproute2",
)

#: command -> the package that provides it
COMMANDS = {
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "nft": "nftables",
    "curl": "curl",
    "dig": "dnsutils",
    "nslookup": "dnsutils",
    "openssl": "openssl",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "ip": "iproute2",
    "ldd": "libc-bin",
    "go": "golang (Go >= 1.26, from go.dev)",
}
FILES = {
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "/usr/lib/cni/host-local": "containernetworking-plugins",
    "/usr/lib/cni/loopback": "containernetworking-plugins",
    "/usr/lib/cni/portmap": "containernetworking-plugins",
    "/bin/busybox": "busybox-static",
}


def problems() -> list[str]:
    """Everything missing, one sentence each (empty: ready to start)."""
    found = []
    if os.geteuid() != 0:
        found.append("it runs as root (containerd, kubelet and cgroups need it; it does not run rootless)")
    if (
        not Path("/sys/fs/cgroup/cgroup.procs").exists()
        and not Path("/sys/fs/cgroup/pids/cgroup.procs").exists()
    ):
        found.append("a cgroup filesystem at /sys/fs/cgroup (v2, or v1 with the pids controller)")
    missing = {pkg for cmd, pkg in COMMANDS.items() if shutil.which(cmd) is None}
    missing |= {pkg for path, pkg in FILES.items() if not Path(path).exists()}
    if missing:
        found.append(
            f"missing packages: {', '.join(sorted(missing))} (`make local-cluster-deps` installs the "
            f"Debian ones)"
        )
    return found


def require(say: Callable[[str], None] = print) -> None:
    found = problems()
    if found:
        raise RuntimeError("the local cluster needs " + "; ".join(found))


def install_packages(say: Callable[[str], None] = print) -> None:
    """apt-get install the Debian packages (as root, non-interactive)."""
    if shutil.which("apt-get") is None:
        raise RuntimeError(
            f"no apt-get: install these (or your distribution's equivalents): {' '.join(PACKAGES)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    say(f"apt-get install {' '.join(PACKAGES)}")
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES], check=True, env=env)


if __name__ == "__main__":  # `make local-cluster-deps`: runs before the venv exists, standard library only
    import sys

    if "--install" in sys.argv:
        install_packages()
    left = problems()
    print("\n".join(left) if left else "local cluster: everything it needs is installed")
    sys.exit(1 if left else 0)
