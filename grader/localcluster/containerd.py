"""containerd (Debian's package) per node, with its own config, and the images imported.

Settings this machine needs (see the local-cluster notes): restrict_oom_score_adj (no
CAP_SYS_RESOURCE: runc otherwise fails "can't get final child's PID from pipe"), no
AppArmor, cgroupfs (no systemd), the locally built pause image as sandbox, CNI from
/usr/lib/cni with a bridge conflist for the node's pod CIDR. The node's /var/lib and /run
are its own (namespaces.private_mounts), so the default paths are private."""

from __future__ import annotations

import json
from pathlib import Path

from grader.localcluster.images import PAUSE_IMAGE
from grader.localcluster.layout import Node
from grader.localcluster.processes import Daemon, enter, run, spawn

SOCKET = "/run/containerd/containerd.sock"
CNI_BIN = "/usr/lib/cni"


def config(node_folder: Path) -> str:
    return f"""version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{SOCKET}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{node_folder / 'opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{node_folder / 'cni'}"
"""


def cni_conflist(node: Node) -> dict:
    """kind's kindnet gives each node a pod /24 and routes between nodes; here the bridge
    plugin does the node's half (the routes are namespaces.wire_network's)."""
    return {
        "cniVersion": "1.0.0",
        "name": "svclab",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": node.pod_cidr, "gateway": node.pod_gateway}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def start(node: Node, holder: int, node_folder: Path, logs: Path) -> Daemon:
    (node_folder / "cni").mkdir(parents=True, exist_ok=True)
    (node_folder / "cni" / "10-svclab.conflist").write_text(json.dumps(cni_conflist(node), indent=1))
    cfg = node_folder / "containerd.toml"
    cfg.write_text(config(node_folder))
    return spawn(f"containerd-{node.name}", enter(holder, ["containerd", "--config", str(cfg)]), logs)


def ctr(holder: int, *args: str) -> list[str]:
    return enter(holder, ["ctr", "--address", SOCKET, "--namespace", "k8s.io", *args])


def ready(holder: int) -> bool:
    run(ctr(holder, "version"), "containerd", timeout=10)
    return True


def import_images(holder: int, archives: list[Path], what: str) -> None:
    for archive in archives:
        run(ctr(holder, "images", "import", str(archive)), f"{what}: importing {archive.name}", timeout=300)
