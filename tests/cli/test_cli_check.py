"""svclab check: one line per problem, exit 1 on problems, 2 on usage errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"


def test_directory_with_one_good_and_one_bad_manifest(capsys):
    assert main(["check", str(FIXTURES / "mixed")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{FIXTURES / 'mixed' / 'bad.yaml'}, document 1 (Service/web-public): "
                   "spec.ports[0].nodePort: provided port 80 is not in the valid range; "
                   "a nodePort must be between 30000 and 32767"]


def test_all_good_prints_count(capsys):
    assert main(["check", str(FIXTURES / "good")]) == 0
    assert capsys.readouterr().out == "OK, 3 objects\n"


def test_same_object_in_two_files_is_reported(capsys):
    assert main(["check", str(FIXTURES / "good"), str(FIXTURES / "mixed" / "good.yaml")]) == 1
    out = capsys.readouterr().out
    assert "a Deployment named 'web' is already defined in" in out


def test_missing_path_is_a_usage_error(capsys):
    assert main(["check", str(FIXTURES / "nope.yaml")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_problems_grouped_by_file(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: A}\n---\nkind: Servce\n")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    assert main(["check", str(tmp_path / "b.yaml"), str(tmp_path)]) == 1
    files = [line.split(",")[0] for line in capsys.readouterr().out.splitlines()]
    assert files == [str(tmp_path / "b.yaml")] * 2 + [str(tmp_path / "a.yaml")] * 3


def test_namespace_option_applies_the_sandbox(tmp_path, capsys):
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    assert main(["check", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["check", "--namespace", "lab1", str(tmp_path)]) == 1
    assert "may not be created in a lab" in capsys.readouterr().out


def test_console_script_via_subprocess():
    result = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(FIXTURES / "mixed")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "bad.yaml, document 1 (Service/web-public): spec.ports[0].nodePort:" in result.stdout
    assert "good.yaml" not in result.stdout


# --------------------------------------------------------------------------- never a traceback

CRASHERS = {
    "binary.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nbinaryData: {a: !!binary aGVsbG8=}\n",
    "set.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: !!set {a, b}\n",
    "digits.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: "
                   + "1" * 5000 + "\n",
    "nan.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: .nan}]}\n",
    "cpu.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
                "    image: i:1\n    resources: {limits: {cpu: '1e999999999999'}}\n",
}


def test_inputs_that_used_to_crash_print_a_problem_and_exit_1(tmp_path, capsys):
    for name, text in CRASHERS.items():
        (tmp_path / name).write_text(text)
        assert main(["check", str(tmp_path / name)]) == 1, name
        captured = capsys.readouterr()
        assert captured.out.startswith(f"{tmp_path / name}, document 1"), name
        assert "Traceback" not in captured.err


def test_binary_value_on_stdin(monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(CRASHERS["binary.yaml"]))
    assert main(["check", "-"]) == 1
    assert capsys.readouterr().out == (
        "<string>, document 1: binaryData.a: binary (!!binary) values are not allowed here; use a plain string\n")


def test_stdin_is_read_up_to_the_size_limit_plus_one(monkeypatch, capsys):
    import io

    from grader.safe_yaml import DEFAULT_LIMITS

    text = "a: " + "x" * (DEFAULT_LIMITS.max_bytes - 4) + "\n"
    assert len(text) == DEFAULT_LIMITS.max_bytes
    stdin = io.StringIO(text + "b: 1\n" * 1000)
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["check", "-"]) == 1
    assert "input is larger than 1 MiB" in capsys.readouterr().out
    assert stdin.tell() == DEFAULT_LIMITS.max_bytes + 1


def test_the_cli_never_builds_jsonschemas_format_grammars(tmp_path):
    """jsonschema compiles ~40 IRI grammars at import (1.5 s of every `svclab check` on an
    invalid file); the CLI skips those format checkers, which no Kubernetes schema check
    uses, and still reports every schema error in full."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
                   "spec:\n  selecter: {app: web}\n  ports: [{port: '80'}]\n")
    code = ("import sys; from grader.cli import main; rc = main(['check', sys.argv[1]]); "
            "print(rc, 'jsonschema' in sys.modules, sys.modules.get('rfc3987_syntax', 'absent'))")
    result = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True,
                            timeout=60)
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        f"{bad}, document 1 (Service/web): spec.ports[0].port: must be an integer, got '80' (remove the quotes)",
        f"{bad}, document 1 (Service/web): spec.selecter: unknown field 'selecter' (did you mean 'selector'?)",
    ]
    assert lines[2] == "1 True None", "jsonschema was loaded with its format grammars"


def test_many_files_checked_on_several_cores_say_what_one_core_says(tmp_path, capsys) -> None:
    """Problems (one per chunk, and a duplicate across chunks) and their order do not depend on -j."""
    from grader.manifests import PARALLEL_MIN_UNITS
    n = PARALLEL_MIN_UNITS + 8
    for i in range(n):
        name = "dup" if i in (1, n - 2) else f"cm-{i}"
        extra = "\n  bad key: 1" if i in (3, n // 2, n - 1) else ""
        (tmp_path / f"{i:03d}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b{extra}\n")
    outputs = []
    for jobs in ("1", "3"):
        rc = main(["check", "-j", jobs, str(tmp_path)])
        outputs.append((rc, *capsys.readouterr()))
    assert outputs[0] == outputs[1]
    mixed = []                                # files and folders, in the order given
    for jobs in ("1", "3"):
        rc = main(["check", "-j", jobs, str(tmp_path / "005.yaml"), str(tmp_path), str(tmp_path / "001.yaml")])
        mixed.append((rc, *capsys.readouterr()))
    assert mixed[0] == mixed[1] and mixed[0][1].count("is already defined in") == 3
    rc, out, err = outputs[0]
    assert rc == 1 and err == "7 problems found\n"        # 2 per bad key, 1 duplicate
    assert "ConfigMap named 'dup' is already defined in" in out
    assert [line.split(",")[0].rsplit("/", 1)[1] for line in out.splitlines() if "bad key" in line] == \
        [f"{i:03d}.yaml" for i in (3, 3, n // 2, n // 2, n - 1, n - 1)]


@pytest.mark.parametrize("bad", ["0", "x", "-1"])
def test_a_bad_job_count_is_a_usage_error(tmp_path, capsys, bad) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "-j", bad, str(tmp_path)])
    assert exc.value.code == 2
    assert "give a whole number of processes from 1 to 256" in capsys.readouterr().err


@pytest.mark.parametrize("cores, load, jobs", [
    (2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.0, 1), (2, 6.0, 1),
    (8, 0.0, 8), (8, 2.2, 6), (8, 30.0, 1), (1, 0.0, 1),
])
def test_the_default_job_count_is_the_idle_cores(cores, load, jobs) -> None:
    from grader.commands.check import jobs_for

    assert jobs_for(cores, load) == jobs


@pytest.mark.parametrize("text, busy", [
    ("0.98 1.10 1.20 1/180 4242\n", 0),       # only this process runs: every core is idle
    ("3.50 2.00 1.00 3/180 4242\n", 2),       # two others run now, whatever the averages say
])
def test_busy_cores_are_the_tasks_running_now(tmp_path, text, busy) -> None:
    from grader.commands.check import busy_elsewhere

    loadavg = tmp_path / "loadavg"
    loadavg.write_text(text)
    assert busy_elsewhere(str(loadavg)) == busy


def test_without_a_run_queue_the_load_average_decides(tmp_path, monkeypatch) -> None:
    import os

    from grader.commands.check import busy_elsewhere

    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 1.0, 0.5))
    assert busy_elsewhere(str(tmp_path / "absent")) == 1.5
    (tmp_path / "odd").write_text("not a load line")
    assert busy_elsewhere(str(tmp_path / "odd")) == 1.5


def test_checking_a_service_loads_nothing_it_does_not_use(tmp_path) -> None:
    """Start-up is most of a small check: a valid Service needs no quantity arithmetic
    (decimal), and argparse's help width is read without shutil (zlib, bz2, lzma)."""
    svc = tmp_path / "svc.yaml"
    svc.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
                   "spec:\n  selector: {app: web}\n  ports: [{port: 80}]\n")
    code = ("import sys; from grader.cli import main; rc = main(['check', sys.argv[1]]); "
            "print(rc, sorted({'decimal', 'shutil', 'bz2', 'lzma', 'jsonschema'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, str(svc)], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.splitlines()[-1] == "0 []"


@pytest.mark.parametrize("columns", ["100", "30", "0", "wide", None])
def test_help_is_as_wide_as_argparse_makes_it(monkeypatch, columns) -> None:
    import shutil

    from grader.cli import help_width

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setenv("LINES", "24")
    assert help_width() == shutil.get_terminal_size().columns - 2
