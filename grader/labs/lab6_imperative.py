"""Lab 6 part 5, an Ingress made with one `kubectl create ingress` command (the exam's fast
path): the answer cell holds kubectl command lines, replayed by grader.labs.replay in a
fresh namespace, and graded only by what the resulting Ingress routes (so an equivalent
`kubectl apply -f - <<EOF` scores the same).

What the task practises is kubectl's `--rule` grammar (kubectl create ingress --help):
`host/path=service:port`; a path ending in `*` becomes `pathType: Prefix` (without the
`*`), any other path `Exact`; rules for one host share one IngressRule; a rule without a
host serves every host."""
from __future__ import annotations

from grader import checks
from grader.labs.spec import COMMANDS, Part, WrongAnswer

VIA = "ingress/preview"

REFERENCE = """\
kubectl create ingress preview \\
  --rule="preview.example/*=api-v2:80" \\
  --rule="preview.example/v1*=api-v1:80"
"""


def _routes(host: str, path: str, selector: str | None, *, code: int = 200, name: str) -> checks.Check:
    return checks.routes_to(VIA, path, host=host, answered_by=selector, code=code, name=name)


PART5 = Part(
    id="part5", title="An Ingress in one command", points=3, kind=COMMANDS,
    visible=[
        _routes("preview.example", "/", "app=api,version=v2", name="preview.example/ goes to api-v2"),
        _routes("preview.example", "/items/7", "app=api,version=v2", name="preview.example/items/7 goes to api-v2"),
        _routes("preview.example", "/v1/items", "app=api,version=v1", name="preview.example/v1/items goes to api-v1"),
    ],
    hidden=[
        _routes("admin.example", "/", None, code=404, name="another host gets 404"),
        _routes("preview.example", "/v1", "app=api,version=v1", name="preview.example/v1 itself goes to api-v1"),
        _routes("preview.example", "/v1beta/items", "app=api,version=v2",
                name="preview.example/v1beta/items is api-v2's (prefixes match whole path elements)"),
    ],
    task="""
The api team wants a preview host, and you have a minute: answer with **kubectl commands**,
not YAML. In the answer cell, write the command line(s) you would type in a terminal (one
command a line, `\\` continues a line, `k` is accepted for `kubectl`); the cell replays them
in a fresh namespace and shows the terminal's output, and the grader replays them again.

With **one `kubectl create ingress` command**, create an **Ingress `preview`** (the default
class, cloud-provider-kind, serves it) that routes:

| request | goes to |
|---|---|
| `http://preview.example/` and every path below it | Service `api-v2`, port 80 |
| `http://preview.example/v1` and every path below it | Service `api-v1`, port 80 |

Any other host must get a 404. `kubectl create ingress --help` shows the `--rule` syntax;
look at what you made with `%kubectl get ingress preview -o yaml` after running the cell.
""",
    reference=REFERENCE,
    explanation=(
        "`--rule=host/path=service:port` adds one path to the rule for `host`; a path ending in `*` becomes "
        "`pathType: Prefix` (`/*` is the prefix `/`, every path), any other path `pathType: Exact`. The two "
        "rules share the host, so kubectl writes one IngressRule with two paths, and the longest matching "
        "prefix wins: `/v1/items` goes to api-v1, `/items/7` to api-v2. Prefix matching is by whole path "
        "elements, so `/v1beta` is not under `/v1`. With a host on every rule, other hosts match nothing "
        "and get 404."),
    wrong_answers=(
        WrongAnswer("Paths without `*`: kubectl makes them `Exact`, so only `/` and `/v1` themselves are routed "
                    "and `/items/7` gets 404.",
                    'kubectl create ingress preview --rule="preview.example/=api-v2:80" '
                    '--rule="preview.example/v1=api-v1:80"\n', max_score=1.5),
        WrongAnswer("No host in the rules (`--rule=\"/*=api-v2:80\"`): they serve every host, so admin.example "
                    "reaches api-v2.",
                    'kubectl create ingress preview --rule="/*=api-v2:80" --rule="/v1*=api-v1:80"\n',
                    max_score=2.5),
        WrongAnswer("The pods' port (`api-v2:8080`): an Ingress names the Service's port, and the Services offer "
                    "80 only.",
                    'kubectl create ingress preview --rule="preview.example/*=api-v2:8080" '
                    '--rule="preview.example/v1*=api-v1:8080"\n', max_score=1),
        WrongAnswer("Only the catch-all rule: `/v1/items` goes to api-v2.",
                    'kubectl create ingress preview --rule="preview.example/*=api-v2:80"\n', max_score=2.5),
        WrongAnswer("`kubectl expose` instead of `create ingress`: a Service, no Ingress, so every request fails.",
                    "kubectl expose deployment api-v2 --name=preview --port=80 --target-port=8080\n",
                    max_score=0),
    ),
)
