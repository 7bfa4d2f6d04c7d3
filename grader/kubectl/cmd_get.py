"""`kubectl get` offline: tables, `-o wide|name|yaml|json|jsonpath=...`, `--show-labels`,
`-l`, `-A`, `-n`, several types (`pods,svc`) and TYPE/NAME arguments."""
from __future__ import annotations

from typing import Any, cast

from grader.k8s.selectors import parse_selector
from grader.kubectl import jsonpath, printers, views
from grader.kubectl.resources import Kind, NotModelled, parse_targets
from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session

REQUIRED = ('You must specify the type of resource to get. Use "kubectl api-resources" for a '
            'complete list of supported resources.\n\nerror: Required resource not specified.\n'
            'Use "kubectl explain <resource>" for a detailed description of that resource '
            '(e.g. kubectl explain pods).\nSee \'kubectl get -h\' for help and examples')


def not_found(kind: Kind, name: str) -> str:
    return f'Error from server (NotFound): {kind.qualified} "{name}" not found'


def select(s: Session, kind: Kind, names: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The objects a get/describe/delete names, and the NotFound errors for the others."""
    namespace = None if (s.all_namespaces and kind.namespaced) else s.namespace
    if names and s.all_namespaces and kind.namespaced:
        raise KubectlError("error: a resource cannot be retrieved by name across all namespaces")
    objs = views.list_objects(s.state, s.ages, kind.kind, namespace)
    sel = s.inv.flag("selector")
    if sel:
        try:
            selector = parse_selector(sel)
        except ValueError as exc:
            raise KubectlError(f"error: {exc}") from None
        objs = [o for o in objs if selector.matches((o.get("metadata") or {}).get("labels") or {})]
    if not names:
        return objs, []
    by_name = {o["metadata"]["name"]: o for o in objs}
    found, errors = [], []
    for n in names:
        if n in by_name:
            found.append(by_name[n])
        else:
            errors.append(not_found(kind, n))
    return found, errors


def run(s: Session) -> None:
    inv = s.inv
    if inv.flag("watch"):
        raise NotModelled("get --watch", "the model changes only when you change it: run the command again")
    if inv.has("filename"):
        targets = _targets_from_files(s)
    else:
        targets = parse_targets(inv.args)
    if not targets:
        raise KubectlError(REQUIRED)
    output = inv.flag("output") or ""
    kinds_shown = {k.kind for k, _ in targets}
    prefix = len(kinds_shown) > 1 or any(a.lower() == "all" for a in inv.args[:1])
    named = any(names for _, names in targets)
    results: list[tuple[Kind, list[dict[str, Any]]]] = []
    errors: list[str] = []
    for kind, names in targets:
        objs, errs = select(s, kind, names)
        results.append((kind, objs))
        errors.extend(errs)
    if any(k.kind == "Endpoints" for k, _ in targets):
        s.warn(views.ENDPOINTS_WARNING)
    everything = [o for _, objs in results for o in objs]
    single = named and len(everything) == 1 and sum(len(n) for _, n in targets) == 1

    if output in ("yaml", "json") or output.startswith(("jsonpath=", "jsonpath-as-json=")):
        data = everything[0] if single else printers.as_list(everything)
        if everything or not errors:
            if output == "yaml":
                s.print(printers.to_yaml(data))
            elif output == "json":
                s.print(printers.to_json(data))
            else:
                template = output.split("=", 1)[1]
                text = jsonpath.render(template, data)
                if text:
                    s.write(text)
    elif output.startswith("custom-columns="):
        rows = custom_columns(output.split("=", 1)[1], everything)
        if rows:
            from grader.kubectl.table import tabulate
            s.write(tabulate(rows[1:] if inv.flag("no-headers") else rows))
    elif output == "name":
        for kind, objs in results:
            for o in objs:
                s.print(f"{kind.singular}/{o['metadata']['name']}")
    elif output in ("", "wide"):
        tables = [printers.table(kind, objs, now=s.now, wide=output == "wide",
                                 show_labels=bool(inv.flag("show-labels")),
                                 all_namespaces=s.all_namespaces, prefix=prefix,
                                 no_headers=bool(inv.flag("no-headers")))
                  for kind, objs in results if objs]
        if tables:
            s.write("\n".join(tables))
    else:
        raise KubectlError(
            f'error: unable to match a printer suitable for the output format "{output}", allowed formats '
            'are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,'
            'jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml')
    if (
        not everything
        and not errors
        and output not in ("yaml", "json")
        and not output.startswith(("jsonpath", "custom-columns"))
    ):
        if s.all_namespaces or all(not k.namespaced for k, _ in targets):
            s.warn("No resources found")
        else:
            s.warn(f"No resources found in {s.namespace} namespace.")
    if errors:
        raise KubectlError("\n".join(errors), stdout="".join(s.out))


def _targets_from_files(s: Session) -> list[tuple[Kind, list[str]]]:
    from grader.kubectl.files import objects_from_files
    from grader.kubectl.resources import by_kind
    out: list[tuple[Kind, list[str]]] = []
    for obj in objects_from_files(s):
        kind = by_kind(str(obj.get("kind")))
        name = cast(str, (obj.get("metadata") or {}).get("name"))     # validated: every object has one
        if out and out[-1][0] == kind:
            out[-1][1].append(name)
        else:
            out.append((kind, [name]))
    return out


def custom_columns(spec: str, objs: list[dict[str, Any]]) -> list[list[str]]:
    """`-o custom-columns=HEADER:.json.path,...`: one JSONPath per column (the braces are
    optional), several results joined by commas, `<none>` where a field is missing."""
    cols = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep or not path:
            raise KubectlError(
                f'error: unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>'
            )
        path = path.strip()
        template = (
            path if path.startswith("{") else "{" + (path if path.startswith(".") else "." + path) + "}"
        )
        cols.append((header, template))
    rows = [[h for h, _ in cols]]
    for o in objs:
        row = []
        for _, template in cols:
            inner = template[1:-1]
            values = jsonpath.values(inner, o)
            row.append(",".join(jsonpath.text(v) for v in values) if values else "<none>")
        rows.append(row)
    return rows
