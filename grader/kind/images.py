"""Pinned versions of everything `svclab cluster up` installs or pulls.

Never `:latest`: it makes kubelet use `imagePullPolicy: Always`, which defeats
`kind load docker-image` and breaks labs on classroom wifi. Each pin names its source so the
next person can re-check it.
"""
from __future__ import annotations

#: kind release the install hints recommend; kindnet enforces NetworkPolicy since v0.24.0.
KIND_VERSION = "v0.33.0"
KIND_MIN_VERSION = (0, 24, 0)

#: Node image listed in the kind v0.33.0 release notes ("Images pre-built for this release").
#: kind only supports node images built for its own release, hence the digest.
NODE_IMAGE = (
    "kindest/node:v1.37.0"
    "@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
)

#: Upstream e2e test image: netexec (HTTP/UDP server), connect (reachability), dig, curl.
AGNHOST_IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.53"

#: LoadBalancer controller for kind, run as a container on the `kind` Docker network.
CLOUD_PROVIDER_KIND_IMAGE = "registry.k8s.io/cloud-provider-kind/cloud-controller-manager:v0.11.1"
CLOUD_PROVIDER_CONTAINER = "svclab-cloud-provider"
#: It also installs the Gateway API CRDs it embeds (v1.5.0, standard channel): pinned by
#: that image, nothing else installs them.

#: Images preloaded into the node with `kind load docker-image` (labs only use these).
COURSE_IMAGES: tuple[str, ...] = (AGNHOST_IMAGE,)
