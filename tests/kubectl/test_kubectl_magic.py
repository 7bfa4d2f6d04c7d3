"""The magics in a real IPython shell: registration by %load_ext, output on stdout only
(nbgrader zeroes cells that write to stderr), the cell body as stdin, and how the magic
finds its namespace."""
from __future__ import annotations

import pytest

import grader.kubectl as kubectl
from grader.kubectl import context
from tests.kubectl.kubectl_fixtures import make_ns


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "grader.kubectl")
    yield sh
    context.reset()
    for k in [k for k in sh.user_ns if k in ("ns", "other")]:
        del sh.user_ns[k]


def test_line_magic_prints_kubectls_output_on_stdout(shell, capsys):
    ns, _ = make_ns()
    kubectl.use(ns)
    shell.run_line_magic("kubectl", "get svc hello")
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split()[:2] == ["NAME", "TYPE"] and err == ""


def test_errors_go_to_stdout_not_stderr(shell, capsys):
    ns, _ = make_ns()
    kubectl.use(ns)
    shell.run_line_magic("kubectl", "get svc nope")
    out, err = capsys.readouterr()
    assert out == 'Error from server (NotFound): services "nope" not found\n' and err == ""


def test_stderr_can_be_asked_for(shell, capsys, monkeypatch):
    ns, _ = make_ns()
    kubectl.use(ns)
    monkeypatch.setenv("SVCLAB_KUBECTL_STDERR", "stderr")
    shell.run_line_magic("kubectl", "get svc nope")
    out, err = capsys.readouterr()
    assert out == "" and "NotFound" in err


def test_jsonpath_braces_reach_kubectl_unexpanded(shell, capsys):
    ns, _ = make_ns()
    kubectl.use(ns)
    shell.user_ns["spec"] = "python's, not kubectl's"
    shell.run_cell("""%kubectl get svc hello -o jsonpath='{.spec.clusterIP}{"\\n"}'""")
    assert capsys.readouterr().out == ns.cluster.state.service("demo", "hello").cluster_ip + "\n"
    # IPython would otherwise substitute {expr} from the notebook's variables
    assert getattr(shell.find_line_magic("kubectl"), "_ipython_magic_no_var_expand", False)


def test_cell_magic_body_is_stdin(shell, capsys):
    ns, _ = make_ns(manifests="")
    kubectl.use(ns)
    shell.run_cell_magic("kubectl", "apply -f -", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n")
    assert capsys.readouterr().out == "configmap/c created\n"
    assert ns.cluster.state.get("ConfigMap", "c", "demo") is not None


def test_namespace_found_in_the_notebooks_variables(shell, capsys):
    context.reset()
    ns, _ = make_ns()
    shell.user_ns["ns"] = ns
    shell.run_line_magic("kubectl", "get deploy -o name")
    assert capsys.readouterr().out == "deployment.apps/hello\n"
    other, _ = make_ns("other")
    shell.user_ns["other"] = other
    shell.run_line_magic("kubectl", "get deploy")
    out = capsys.readouterr().out
    assert "several namespaces" in out and "kubectl.use(ns)" in out
    kubectl.use(other)
    shell.run_line_magic("kubectl", "get deploy -o name")
    assert capsys.readouterr().out == "deployment.apps/hello\n"


def test_without_any_namespace_the_magic_says_what_to_do(shell, capsys):
    context.reset()
    shell.run_line_magic("kubectl", "get pods")
    assert "grader.kubectl.use(ns)" in capsys.readouterr().out


def test_use_refuses_what_is_not_a_namespace():
    with pytest.raises(TypeError, match="needs a Namespace"):
        kubectl.use("demo")


def test_two_wget_bodies_in_one_cell_stay_on_their_own_lines(shell, capsys):
    # wget -qO- prints agnhost's /hostname without a newline; the next %kubectl's output
    # used to run into it ("hello-...-abchello-...-xyz").
    ns, _ = make_ns()
    kubectl.use(ns)
    shell.run_cell("%kubectl exec client -- wget -qO- --timeout=2 http://hello/hostname\n"
                   "%kubectl exec client -- wget -qO- --timeout=2 http://hello/hostname\n")
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 3 and lines[2] == "", lines
    pods = {p.name for p in ns.pods() if p.labels.get("app") == "hello"}
    assert lines[0] in pods and lines[1] in pods


def test_a_body_without_newline_is_still_exact_through_the_api():
    # Code that needs kubectl's exact bytes calls grader.kubectl.run: nothing is added there.
    ns, _ = make_ns()
    r = kubectl.run(ns, "exec client -- wget -qO- --timeout=2 http://hello/hostname")
    assert r.code == 0 and not r.stdout.endswith("\n")


def test_wide_tables_scroll_instead_of_wrapping(shell, capsys):
    # JupyterLab wraps plain-text output lines; `-o wide` rows longer than the output area
    # were broken in two. A wide output is shown as one unwrapped <pre> (plain text too).
    ns, _ = make_ns()
    kubectl.use(ns)
    shown = []
    publish = shell.display_pub.publish
    shell.display_pub.publish = lambda data, *a, **kw: shown.append(data)
    try:
        shell.run_line_magic("kubectl", "get pods -o wide")
        narrow = capsys.readouterr().out
        shell.run_line_magic("kubectl", "get svc hello")
        plain = capsys.readouterr().out
    finally:
        shell.display_pub.publish = publish
    assert narrow == "" and len(shown) == 1
    text = shown[0]["text/plain"]
    assert text.splitlines()[0].split()[:3] == ["NAME", "READY", "STATUS"] and "NOMINATED NODE" in text
    assert max(len(line) for line in text.splitlines()) > 100
    assert "white-space:pre;" in shown[0]["text/html"] and "NOMINATED NODE" in shown[0]["text/html"]
    # a narrow table stays plain stdout, as kubectl prints it
    assert plain.startswith("NAME") and len(shown) == 1
