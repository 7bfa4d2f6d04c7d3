"""Lab 8, a timed mock exam in the CKA/CKAD style: sixteen Services & Networking tasks,
each in a namespace of its own, answered with kubectl commands, graded by the state they
leave. Two variants (this module: A; lab8_mock_exam_b: B) ask the same competencies with
other names, ports, hosts and namespaces, so a retake is not a replay.

The answers are command lines (grader.labs.replay): the autograder replays them on a fresh
cluster per task in the clean grading process, so only what the commands do counts."""

from __future__ import annotations

from typing import Any, Mapping

from grader.labs import exam_tasks as svc
from grader.labs import exam_tasks_net as net
from grader.labs.spec import Lab

#: Minutes the exam allows. The reference solution types 18 commands (68 lines, about 2,100
#: characters, 45 of the lines the two NetworkPolicies' YAML): about 15 minutes of typing and
#: 35-45 in all for a fluent learner who reads each task and checks it once (README, "Mock
#: exam"). The CKA/CKAD allow about 6-8 minutes a task; these tasks are smaller, so 60.
TIME_LIMIT = 60

#: The tasks in exam order: Services first, then policy, Ingress and DNS, then repairs.
TASKS = (svc.expose_clusterip, svc.nodeport_fixed, svc.load_balancer, svc.fix_selector, svc.label_pod,
         svc.scale, svc.named_target_port, net.ingress_policy, net.egress_policy, net.ingress_rules,
         net.service_and_ingress, net.external_name, net.headless, svc.drop_selector_key,
         svc.fix_target_port, svc.session_affinity)

VARIANT_A: Mapping[str, Any] = {
    "name": "lab8-mock-exam",
    "title": "Lab 8: Mock exam, Services & Networking (variant A)",
    "prefix": "a",
    "ns": {
        1: "web",
        2: "shop",
        3: "api",
        4: "billing",
        5: "cache",
        6: "worker",
        7: "pay",
        8: "db",
        9: "batch",
        10: "store",
        11: "blog",
        12: "extdb",
        13: "kv",
        14: "orders",
        15: "search",
        16: "cart",
    },
    "q1_app": "web",
    "q1_svc": "web-svc",
    "q1_port": 80,
    "q2_app": "shop",
    "q2_svc": "shop-np",
    "q2_node_port": 30081,
    "q3_app": "api",
    "q3_svc": "api-lb",
    "q3_port": 8080,
    "q4_app": "billing",
    "q5_svc": "cache",
    "q5_label": "tier=cache",
    "q6_app": "worker",
    "q6_replicas": 4,
    "q7_app": "pay",
    "q7_port_name": "pay-http",
    "q7_number": 9090,
    "q8_db": "db",
    "q8_api": "api",
    "q8_policy": "db-from-api",
    "q9_src": "batch",
    "q9_dst": "store",
    "q9_other": "web",
    "q9_policy": "batch-egress",
    "q10_host": "shop.example",
    "q10_api": "api",
    "q10_web": "web",
    "q10_ingress": "shop",
    "q11_app": "blog",
    "q11_host": "blog.example",
    "q12_svc": "db",
    "q12_target": "db.prod.example.com",
    "q13_sts": "kv",
    "q14_app": "orders",
    "q15_app": "search",
    "q15_port": 80,
    "q16_app": "cart",
}

VARIANT_B: Mapping[str, Any] = {
    "name": "lab8-mock-exam-b",
    "title": "Lab 8: Mock exam, Services & Networking (variant B)",
    "prefix": "b",
    "ns": {
        1: "portal",
        2: "market",
        3: "gateway",
        4: "ledger",
        5: "session",
        6: "render",
        7: "checkout",
        8: "vault",
        9: "report",
        10: "media",
        11: "wiki",
        12: "mail",
        13: "zk",
        14: "inventory",
        15: "index",
        16: "basket",
    },
    "q1_app": "portal",
    "q1_svc": "portal-internal",
    "q1_port": 8000,
    "q2_app": "market",
    "q2_svc": "market-ext",
    "q2_node_port": 30084,
    "q3_app": "gateway",
    "q3_svc": "gateway-public",
    "q3_port": 443,
    "q4_app": "ledger",
    "q5_svc": "session",
    "q5_label": "role=session-store",
    "q6_app": "render",
    "q6_replicas": 3,
    "q7_app": "checkout",
    "q7_port_name": "co-web",
    "q7_number": 7070,
    "q8_db": "vault",
    "q8_api": "keeper",
    "q8_policy": "vault-only-keeper",
    "q9_src": "report",
    "q9_dst": "warehouse",
    "q9_other": "mailer",
    "q9_policy": "report-egress",
    "q10_host": "media.example",
    "q10_api": "uploads",
    "q10_web": "site",
    "q10_ingress": "media",
    "q11_app": "wiki",
    "q11_host": "wiki.example",
    "q12_svc": "smtp",
    "q12_target": "smtp.mail.example.org",
    "q13_sts": "zk",
    "q14_app": "inventory",
    "q15_app": "index",
    "q15_port": 9200,
    "q16_app": "basket",
}

GOALS = """
- Answer sixteen tasks the way the CKA and CKAD ask them: in a terminal, with `kubectl`,
  against a clock ({minutes} minutes).
- Cover the Services & Networking competencies: every Service type, `expose`, ports and
  targetPorts, labels and selectors, scaling, Ingress rules, NetworkPolicy, DNS names,
  endpoints.
- Be graded as the exams grade: by the state of the cluster afterwards, not by the command
  you typed.
"""

CONCEPT = """
Each task has a namespace of its own and an **answer cell**: write the commands you would
type in the exam's terminal, one a line, exactly as you would type them (`kubectl` or the
exam's alias `k`; YAML goes in a heredoc: `kubectl apply -f - <<EOF` ... `EOF`). Running the
cell replays them on a fresh namespace prepared for the task and prints the terminal's
output, then the clock. The check cell under it reads the state those commands left.

```mermaid
flowchart LR
    cell["answer cell: your kubectl commands"] -->|replayed in order| ns["fresh namespace of the task"]
    ns --> state["Services, endpoints, policies, Ingress"]
    state -->|observed| checks["checks: probes, DNS, HTTP, endpoints"]
    checks --> score["score and one sentence per check"]
```

Whatever your kernel printed is not what is graded: the autograder replays your commands
again, in a process of its own, on a new cluster. A command that fails changes nothing, as
on a real cluster; the feedback names the first one that failed and why.
"""

HOW_TO = """
## Try it

1. Run the setup cell above: it **starts the clock** ({minutes} minutes). The start is kept
   beside the notebook, so restarting the kernel does not give time back; the clock prints
   after every answer cell. It is yours to keep: grading never reads it.
2. For each task, write your commands below the `%%answer qNN` line, replacing
   `# YOUR ANSWER HERE`, and run the cell. It replays **all** of the cell's commands on a
   fresh namespace each time, so the cell always holds your whole answer: fix a mistake by
   editing the command, not by adding a correction after it (both work; the cell is replayed
   top to bottom).
3. To look around, use `%kubectl` in a new cell (`%kubectl get svc,ep -o wide`,
   `%kubectl describe ingress`): after an answer cell runs, `%kubectl` works in that task's
   namespace as the cell left it. Those looks are not graded; only answer cells are.
4. Run the check cell under each answer: it shows the visible checks; some tasks also have
   hidden checks that run when your work is graded.

**Rules of the replay.** One kubectl command a line (`\\` continues a line); heredocs for
YAML; `-n` may name the task's namespace only; no files (`-f FILE`), pipes, `&&` or
redirections; `kubectl edit` opens an editor, which a cell cannot: use `kubectl patch` or
`apply -f -` instead; `kubectl run` and `exec`, for testing a connection, belong in a
`%kubectl` cell. Offline, `%kubectl` answers from the course's model of a cluster
(`create`, `expose`, `patch`, `label`, `scale`, `create ingress --rule`, `apply -f -`,
`get`, `describe`, `delete`).

**Live mode** (a real cluster, `SVCLAB_MODE=live`): the answer cells run the real kubectl
against a fresh namespace per task. You may also work in a real terminal (JupyterLab: File >
New > Terminal) with `kubectl -n <the task's namespace> ...`, as in the exam; then copy the
commands that changed the cluster into the task's answer cell, because the answer cells are
what is graded.
"""

WHATS_NEXT = """
Compare your time with the reference solution's in the README ("Mock exam"); retake the
exam with the other variant (`lab8-mock-exam-b` or `lab8-mock-exam`) when you are ready.
For faults you have not seen before, lab 7 draws its broken application per learner.
"""


def build(v: Mapping[str, Any]) -> Lab:
    """The exam of variant `v`."""
    return Lab(
        name=str(v["name"]),
        title=str(v["title"]),
        namespace=f"{v['prefix']}00-exam",
        workloads="",
        parts=tuple(task(v) for task in TASKS),
        goals=GOALS.format(minutes=TIME_LIMIT),
        concept=CONCEPT,
        how_to=HOW_TO.format(minutes=TIME_LIMIT),
        whats_next=WHATS_NEXT,
        setup_extra=f"%load_ext grader.kubectl\nlab.start_clock(minutes={TIME_LIMIT})",
    )


LAB = build(VARIANT_A)
