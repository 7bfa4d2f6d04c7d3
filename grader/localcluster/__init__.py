"""A real two-node Kubernetes cluster on this Linux machine, without Docker (`svclab cluster
up --local`, `make local-cluster`): shaped like the course's kind cluster, built from the Go
modules under controlplane/ and Debian packages, every part in network and mount namespaces
of its own so the host stays untouched. `lifecycle` is the public entry point:

    from grader.localcluster import lifecycle
    lifecycle.up()      # build what is missing, start, wait until usable; prints progress
    lifecycle.down()    # stop everything and remove what it made; always safe to call
"""
