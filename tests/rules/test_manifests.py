"""The public entry grader.manifests: sources, Problem/Manifest shape, check vs load."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.manifests import Limits, Manifest, ManifestError, Problem, check, load

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"

CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
             "data": {"mode": "fast"}}


def test_problem_str_names_file_document_object_and_field():
    p = Problem("svc.yaml", 1, "Service", "backend", "spec.ports[0].nodePort", "bad")
    assert str(p) == "svc.yaml, document 2 (Service/backend): spec.ports[0].nodePort: bad"
    assert str(Problem("svc.yaml", None, None, None, "", "no such file")) == "svc.yaml: no such file"


def test_manifest_properties_and_where():
    m = Manifest(obj={**CONFIGMAP, "metadata": {"name": "settings", "namespace": "lab1"}},
                 file="cm.yaml", doc=0)
    assert (m.kind, m.name, m.namespace, m.api_version) == ("ConfigMap", "settings", "lab1", "v1")
    assert m.where() == "cm.yaml, document 1 (ConfigMap/settings)"
    assert Manifest(obj=CONFIGMAP, file="x", doc=0).namespace is None


def test_dict_source_is_copied_not_defaulted():
    (m,) = load(CONFIGMAP)
    assert m.obj == CONFIGMAP and m.obj is not CONFIGMAP
    m.obj["data"]["mode"] = "slow"
    assert CONFIGMAP["data"]["mode"] == "fast"
    assert m.file == "<object>"


def test_list_of_mixed_sources(tmp_path):
    f = tmp_path / "cm.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-file}\n")
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-text}\n"
    got = load([CONFIGMAP, str(f), text])
    assert [(m.name, m.file) for m in got] == [
        ("settings", "<object>"), ("from-file", str(f)), ("from-text", "<string>")]


def test_directory_is_read_recursively_and_sorted():
    got = load(FIXTURES / "good")
    assert [(Path(m.file).name, m.kind) for m in got] == [
        ("policy.yml", "NetworkPolicy"), ("web.yaml", "Deployment"), ("web.yaml", "Service")]


def test_hidden_directories_are_skipped(tmp_path):
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "old.yaml").write_text("kind: Broken\n")
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    assert len(load(tmp_path)) == 1


def test_a_directorys_unreadable_files_say_why(tmp_path):
    """Files listed by the directory walk are read without a stat first; one that cannot
    be read is still reported as before: a dangling link as missing, a folder named
    like a manifest is walked into, other files with the reason."""
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "gone.yaml")
    (tmp_path / "c.yaml").mkdir()
    (tmp_path / "c.yaml" / "d.yml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n")
    (tmp_path / "e.yaml").write_bytes(b"\xff\xfe not utf-8")
    found, problems = check(tmp_path)
    assert [m.name for m in found] == ["a", "d"]
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'b.yaml'}: no such file or directory",
        f"{tmp_path / 'e.yaml'}: file is not UTF-8 text (bad byte at offset 0); save it as UTF-8",
    ]


def test_missing_path_looking_string_is_a_problem_not_yaml():
    _, problems = check("answers/svc.yaml")
    assert [str(p) for p in problems] == ["answers/svc.yaml: no such file or directory"]


def test_kind_list_is_expanded_with_item_paths():
    text = """
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: B}}
"""
    manifests, problems = check(text)
    assert [m.name for m in manifests] == ["a"]
    assert [(p.path, p.name) for p in problems] == [("items[1].metadata.name", "B")]


def test_check_returns_only_clean_objects_and_all_problems():
    text = "\n---\n".join([
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}",
        "just a string",
    ])
    manifests, problems = check(text)
    assert [m.name for m in manifests] == ["ok"]
    assert [(p.doc, p.kind, p.path) for p in problems] == [
        (1, "ConfigMap", "metadata.name"), (2, None, "")]


def test_load_raises_with_every_problem_one_per_line():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: A}\n---\napiVersion: v1\nkind: Pod\n"
    with pytest.raises(ManifestError) as info:
        load(text)
    assert len(info.value.problems) == 3
    assert str(info.value).splitlines() == [str(p) for p in info.value.problems]
    assert isinstance(info.value, ValueError)


def test_duplicate_objects_in_one_input():
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
    _, problems = check(cm + "---\n" + cm)
    assert [str(p) for p in problems] == [
        "<string>, document 2 (ConfigMap/a): metadata.name: a ConfigMap named 'a' is already "
        "defined in <string>, document 1 (ConfigMap/a)"]


def test_unsupported_source_type():
    _, problems = check(42)  # type: ignore[arg-type]
    assert "cannot read manifests from a int" in problems[0].message


def test_empty_input_is_a_problem():
    _, problems = check("# nothing here\n")
    assert problems[0].message == "contains no Kubernetes objects (it is empty or only comments)"


def test_source_names_text_and_dicts_in_messages(tmp_path):
    _, problems = check(["kind: Servce\n", {"kind": "Pod"}], source="answer cell")
    assert {p.file for p in problems} == {"answer cell"}
    f = tmp_path / "x.yaml"
    f.write_text("kind: Servce\n")
    _, problems = check(f, source="answer cell")
    assert {p.file for p in problems} == {str(f)}  # files keep their own path
    with pytest.raises(ManifestError) as info:
        load("kind: Servce\n", source="cell 3")
    assert str(info.value).startswith("cell 3, document 1 (Servce): kind:")


@pytest.mark.parametrize("kind,api", [("Service", "v1"), ("Deployment", "apps/v1"),
                                      ("NetworkPolicy", "networking.k8s.io/v1"),
                                      ("EndpointSlice", "discovery.k8s.io/v1"), ("Ingress", "networking.k8s.io/v1")])
@pytest.mark.parametrize("junk", [None, 7, "x", [], [7], {"ports": "x", "selector": [1], "template": 3}])
def test_wrongly_typed_fields_are_problems_never_crashes(kind, api, junk):
    obj = {"apiVersion": api, "kind": kind, "metadata": {"name": "x", "labels": junk}, "spec": junk,
           "endpoints": junk, "addressType": "IPv4"}
    manifests, problems = check(obj)
    assert manifests or problems


# --------------------------------------------------------------------------- review fixes

CM_ITEM = "- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c{i}}}}}\n"


def _list_of(n: int) -> str:
    return "apiVersion: v1\nkind: List\nitems:\n" + "".join(CM_ITEM.format(i=i) for i in range(n))


def test_kind_list_items_count_against_the_object_limit():
    manifests, problems = check(_list_of(101))
    assert manifests == []
    assert [(p.file, p.doc, p.path) for p in problems] == [("<string>", None, "")]
    assert problems[0].message.startswith("more than 100 Kubernetes objects (101, counting every "
                                          "item of a 'kind: List')")


def test_object_limit_counts_documents_and_list_items_together():
    text = _list_of(3) + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n"
    assert len(check(text)[0]) == 4
    manifests, problems = check(text, limits=Limits(max_objects=3))
    assert manifests == [] and "more than 3 Kubernetes objects (4," in problems[0].message
    assert len(check(_list_of(100))[0]) == 100


def test_object_limit_is_per_file(tmp_path):
    (tmp_path / "a.yaml").write_text(_list_of(2))
    (tmp_path / "b.yaml").write_text(_list_of(3).replace("name: c", "name: d"))
    manifests, problems = check(tmp_path, limits=Limits(max_objects=2))
    assert [m.name for m in manifests] == ["c0", "c1"]
    assert [p.file for p in problems] == [str(tmp_path / "b.yaml")]


@pytest.mark.parametrize("text, words", [
    ("!!python/object:os.system {}", "unsupported YAML tag"),
    ("!!python/object/apply:os.system ['id']", "unsupported YAML tag"),
    ("{kind: a/b c}", "kind 'a/b c' is not a kind this course knows"),
    ("a/b c", "expected a Kubernetes object"),
    ("&x a/b", "expected a Kubernetes object"),
])
def test_yaml_with_a_slash_is_not_taken_for_a_path(text, words):
    _, problems = check(text)
    assert problems and words in problems[0].message
    assert not any("no such file" in p.message for p in problems)


@pytest.mark.parametrize("text", ["answers/svc.yaml", "answers/svc", "my labs/svc.yml", "./svc.json"])
def test_strings_that_look_like_paths_still_are(text):
    _, problems = check(text)
    assert [str(p) for p in problems] == [f"{text}: no such file or directory"]


@pytest.mark.parametrize("text", [
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nbinaryData: {a: !!binary aGVsbG8=}\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: !!set {a, b}\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: " + "9" * 5000 + "}]}\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: .nan}]}\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {0x10: a, 16: b}\n",
])
def test_unbuildable_yaml_is_a_problem_and_load_raises_manifest_error(text):
    manifests, problems = check(text)
    assert manifests == [] and len(problems) == 1 and problems[0].doc == 0
    with pytest.raises(ManifestError):
        load(text)


def test_dict_with_a_huge_integer_is_a_problem_not_a_crash():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"selector": {"app": "a"}, "ports": [{"port": 10**5000}]}}
    manifests, problems = check(svc)
    assert manifests == []
    assert [(p.kind, p.name, p.path) for p in problems] == [("Service", "s", "spec.ports[0].port")]
    assert "JSON cannot hold this 16610-bit integer" in str(problems[0])
    with pytest.raises(ManifestError):
        load(svc)


@pytest.mark.parametrize("value, words", [(float("nan"), "NaN"), (float("inf"), "NaN or infinity"),
                                          (-(2**63) - 1, "64-bit")])
def test_dict_with_non_json_numbers_is_refused(value, words):
    cm = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
          "spec": {"containers": [{"name": "c", "image": "i:1", "resources": {"limits": {"cpu": value}}}]}}
    _, problems = check(cm)
    assert [p.path for p in problems] == ["spec.containers[0].resources.limits.cpu"]
    assert words in problems[0].message
