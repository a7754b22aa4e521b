"""The engine never reports success it did not have: the pure and in-process parts of issue #11."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlrecipes.errors import ConfigError, DatasetError, Interrupted, StepTimeout
from mlrecipes.execution import cache, fastpath
from mlrecipes.execution.context import load_recipe
from mlrecipes.execution.runner import output_stats, outputs_problem
from mlrecipes.execution.state import StepState
from mlrecipes.execution.workspace import Workspace, check_profile_name
from mlrecipes.io.fingerprint import fingerprint, fingerprint_for_key
from mlrecipes.io.hashing import hash_tree
from mlrecipes.io.sources import IngestConfig
from mlrecipes.modeling.data_checks import check_numeric_columns, delimiter_hint
from mlrecipes.process.signals import signals_as_exceptions, time_limit
from mlrecipes.process.supervisor import run_in_child
from mlrecipes.scoring.frames import coerce_frame, conversions, schema_problems

# --- state files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff\xfe binary",
        b"[1, 2, 3]",
        b'{"status": 5}',
        b'{"status": "DONE"}',
        b'{"pid": "x"}',
    ],
    ids=["binary", "json-list", "status-int", "status-unknown", "pid-str"],
)
def test_a_corrupt_state_file_reads_as_never_ran_with_a_warning_naming_it(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.warns(UserWarning, match=str(path)):
        state = StepState.read(path)
    assert state.status == "NOT_RUN"
    assert str(path) in (state.problem or "")
    StepState(status="SUCCEEDED", cache_key="k").write(path)  # the next write repairs it
    assert StepState.read(path).status == "SUCCEEDED"
    assert "problem" not in json.loads(path.read_text())


# --- profile names -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".", "..", "prod;rm", "dev\n"])
def test_profile_names_that_could_reach_outside_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="may only hold letters, digits"):
        check_profile_name(name)


@pytest.mark.parametrize("name", ["local", "local_features", "dev-2", "PROD"])
def test_plain_profile_names_are_accepted(name: str) -> None:
    assert check_profile_name(name) == name


# --- templating limits and from_json -------------------------------------------------------


def _recipe_with_profile(
    root: Path, profile_text: str, extra: dict[str, str] | None = None
) -> Path:
    (root / "profiles").mkdir(parents=True)
    (root / "recipe.yaml").write_text(
        'recipe: "classification/v1"\ntarget_col: "y"\npositive_class: 1\n'
        "steps:\n  ingest:\n    using: csv\n    location: {{ LOC }}\n"
        "  register:\n    model_name: m\n"
    )
    (root / "profiles" / "p.yaml").write_text(profile_text)
    for name, text in (extra or {}).items():
        (root / name).write_text(text)
    return root


def test_a_runaway_loop_in_a_profile_fails_within_seconds_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRECIPES_TEMPLATE_TIMEOUT", "1")
    root = _recipe_with_profile(
        tmp_path,
        "LOC: x.csv\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
        "{% endfor %}\n",
    )
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"profiles/p.yaml: rendering took more than 1 s"):
        load_recipe(root, "p")
    assert time.monotonic() - started < 5


def test_a_huge_string_in_a_profile_is_refused_naming_it(tmp_path: Path) -> None:
    root = _recipe_with_profile(tmp_path, "LOC: \"{{ 'a' * 200000000 }}\"\n")
    started = time.monotonic()
    with pytest.raises(
        ConfigError, match=r"profiles/p.yaml: template builds a value of 200,000,000"
    ):
        load_recipe(root, "p")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("path", ["/etc/hosts", "../../../etc/hosts", "data/../../outside.json"])
def test_from_json_reads_only_files_inside_the_recipe_root(tmp_path: Path, path: str) -> None:
    root = tmp_path / "recipe"
    (tmp_path / "outside.json").write_text('{"secret": "s3cr3t"}')
    _recipe_with_profile(root, f"LOC: x.csv\nP: {{{{ '{path}' | from_json }}}}\n")
    with pytest.raises(ConfigError, match="outside the recipe root") as info:
        load_recipe(root, "p")
    assert "s3cr3t" not in str(info.value) and "localhost" not in str(info.value)


def test_from_json_of_a_file_that_is_not_json_is_a_clear_error(tmp_path: Path) -> None:
    root = _recipe_with_profile(
        tmp_path, "LOC: x.csv\nP: {{ 'notes.txt' | from_json }}\n", {"notes.txt": "hello: ["}
    )
    with pytest.raises(ConfigError, match=r"from_json: 'notes.txt' is not a JSON file"):
        load_recipe(root, "p")


def test_from_json_inside_the_root_still_works(tmp_path: Path) -> None:
    root = _recipe_with_profile(
        tmp_path, "LOC: {{ ('p.json' | from_json)['loc'] }}\n", {"p.json": '{"loc": "d.csv"}'}
    )
    assert load_recipe(root, "p").config.steps.ingest.location == "d.csv"


def test_an_empty_recipe_yaml_is_one_clear_line(tmp_path: Path) -> None:
    root = _recipe_with_profile(tmp_path, "LOC: x.csv\n")
    (root / "recipe.yaml").write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match=r"^recipe.yaml: the file is empty; expected at least"):
        load_recipe(root, "p")


# --- data fingerprints and cache keys ------------------------------------------------------


def test_an_edit_that_keeps_size_and_mtime_changes_the_fingerprint(tmp_path: Path) -> None:
    """cp -p, rsync -t and tar -x restore the mtime: only the content tells."""
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    cfg = IngestConfig(using="csv", location=str(data))
    before = fingerprint(cfg, tmp_path, "ingest")
    stat = data.stat()
    data.write_text("a,b\n1,3\n")
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data.stat().st_size == stat.st_size and data.stat().st_mtime_ns == stat.st_mtime_ns
    after = fingerprint(cfg, tmp_path, "ingest", previous=before)
    assert fingerprint_for_key(after) != fingerprint_for_key(before)


def test_library_versions_are_found_and_change_cache_keys_and_the_manifest_context(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from importlib.metadata import version

    found = cache.library_versions()
    assert found["scikit-learn"] == version("scikit-learn")
    assert found["mlflow"] == version("mlflow") and found["pandas"] == version("pandas")
    key = cache.cache_key("train", "0", {}, {}, {}, None)
    digest = fastpath.context_digest(tmp_path, "local", "register", {}, [])
    monkeypatch.setattr(cache, "_versions", {**found, "scikit-learn": "99.0"})
    assert cache.cache_key("train", "0", {}, {}, {}, None) != key
    assert fastpath.context_digest(tmp_path, "local", "register", {}, []) != digest


# --- outputs re-checked before the cache is trusted ----------------------------------------


def _succeeded(ws: Workspace, step: str) -> StepState:
    outputs = ws.outputs(step)
    return StepState(
        status="SUCCEEDED",
        output_fingerprint=hash_tree(outputs),
        output_files=output_stats(outputs),
    )


def test_outputs_deleted_truncated_or_touched(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    outputs = ws.outputs("split")
    outputs.mkdir(parents=True)
    for name in ("train.parquet", "test.parquet"):
        pd.DataFrame({"a": range(100)}).to_parquet(outputs / name)
    state = _succeeded(ws, "split")
    assert outputs_problem(state, ws, "split") is None

    path = outputs / "train.parquet"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert outputs_problem(state, ws, "split") is None  # touched, same content

    path.write_bytes(path.read_bytes()[:50])
    assert "changed train.parquet" in (outputs_problem(state, ws, "split") or "")
    path.unlink()
    assert "missing train.parquet" in (outputs_problem(state, ws, "split") or "")
    shutil.rmtree(outputs)
    assert outputs_problem(state, ws, "split") == "outputs missing"


# --- scoring: the input contract is what training accepted ---------------------------------


def test_numbers_for_a_string_column_become_their_text_and_blanks_stay_missing() -> None:
    frame = pd.DataFrame({"TotalCharges": [20.0, 29.85, np.nan, 1889.5], "n": [1, 2, 3, 4]})
    out = coerce_frame(frame, {"TotalCharges": "string", "n": "string"})
    assert out["TotalCharges"].tolist() == ["20", "29.85", None, "1889.5"]
    assert out["n"].tolist() == ["1", "2", "3", "4"]
    assert frame["TotalCharges"].dtype == "float64"  # the caller's frame is untouched


def test_text_for_numeric_columns_is_parsed_with_blanks_as_missing() -> None:
    frame = pd.DataFrame({"m": ["1.5", " ", None, "3"], "t": ["1", "2", "3", "4"]})
    out = coerce_frame(frame, {"m": "double", "t": "long"})
    assert out["m"].tolist()[0] == 1.5 and np.isnan(out["m"].iloc[1]) and out["m"].iloc[3] == 3
    assert out["t"].dtype == "int64" and out["t"].tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("values", "kind", "message"),
    [
        (["1", "abc"], "double", r"column 'c', data row 12: 'abc' is not a valid double"),
        (["1", "2.5"], "long", r"column 'c', data row 12: '2.5' is not a valid long"),
        (["1", None], "long", r"column 'c', data row 12: missing value in a column the model"),
    ],
)
def test_genuinely_wrong_values_are_refused_naming_column_row_and_value(
    values: list, kind: str, message: str
) -> None:
    with pytest.raises(DatasetError, match=message):
        coerce_frame(pd.DataFrame({"c": values}), {"c": kind}, first_row=10)


def test_schema_check_accepts_convertible_types_and_refuses_the_rest() -> None:
    schema = pa.schema(
        [("TotalCharges", pa.float64()), ("tenure", pa.string()), ("flag", pa.bool_())]
    )
    required = {"TotalCharges": "string", "tenure": "long", "flag": "double"}
    problems = schema_problems(schema, required)
    assert problems == [
        "column 'flag' holds boolean values (bool), the model expects double",
    ]
    assert conversions(schema, required) == {"TotalCharges": "string", "tenure": "long"}


def test_a_semicolon_file_read_as_one_column_is_named_as_the_likely_cause() -> None:
    assert "delimited by ';'" in delimiter_hint(["customerID;gender;tenure"])
    assert delimiter_hint(["customerID", "gender"]) == ""


# --- data checks at ingest -----------------------------------------------------------------


def test_a_stray_text_value_in_a_numeric_column_is_named_at_ingest() -> None:
    frame = pd.DataFrame({"MonthlyCharges": [str(20 + i) for i in range(100)], "g": ["a"] * 100})
    frame.loc[41, "MonthlyCharges"] = "abc"
    frame.loc[7, "MonthlyCharges"] = " "  # a blank is a missing value, not a stray
    with pytest.raises(
        DatasetError, match=r"column 'MonthlyCharges' .*'abc'.*data row 42 \('abc'\)"
    ):
        check_numeric_columns(frame, "steps.ingest")


def test_text_columns_and_numbers_stored_as_text_with_blanks_pass() -> None:
    frame = pd.DataFrame(
        {
            "Contract": ["Month-to-month", "One year", "Two year", "1 year"] * 25,
            "TotalCharges": [" "] * 10 + [str(i * 1.5) for i in range(90)],
        }
    )
    check_numeric_columns(frame, "steps.ingest")


# --- signals, time limits, and a child that ends the interpreter ---------------------------


def test_sigterm_and_sigint_raise_interrupted_and_handlers_are_restored() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
        with (
            pytest.raises(Interrupted, match=f"interrupted by {name}") as info,
            signals_as_exceptions(),
        ):
            os.kill(os.getpid(), sig)
            time.sleep(5)
        assert info.value.exit_code == 128 + int(sig)
    assert {s: signal.getsignal(s) for s in before} == before


def test_time_limit_raises_step_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(StepTimeout, match=r"timeout of 0.3 s"), time_limit(0.3):
        time.sleep(5)
    assert time.monotonic() - started < 2
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler)


def test_a_time_limit_whose_error_was_swallowed_fires_again() -> None:
    # A finalizer drops an exception raised in it; user code may catch one. Either way the
    # limit holds: the error comes again, and the cleanup of the one being handled is spared.
    started, caught, cleaned = time.monotonic(), [], []
    with pytest.raises(StepTimeout), time_limit(0.2):
        try:
            time.sleep(5)
        except StepTimeout as exc:
            caught.append(exc)  # dropped
        try:
            time.sleep(5)
        finally:
            time.sleep(1.5)  # a cleanup longer than the refire interval is not cut short
            cleaned.append(True)
    assert caught and cleaned == [True]
    assert time.monotonic() - started < 4.5


def test_a_body_that_swallowed_its_timeout_and_finished_still_fails() -> None:
    with (
        pytest.raises(StepTimeout, match=r"timeout of 0.1 s"),
        time_limit(0.1),
        contextlib.suppress(StepTimeout),  # the body catches and drops it
    ):
        time.sleep(5)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def _leave(code: int, report) -> None:
    report()
    os._exit(code)


@pytest.mark.parametrize(("how", "reported"), [("return", 3), ("os._exit", None)])
def test_a_child_that_ends_the_interpreter_is_seen_as_unfinished(how: str, reported) -> None:
    def work() -> int:
        if how == "os._exit":
            os._exit(0)
        return 3

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork in a threaded pytest
        end = run_in_child(work, _leave)
    assert end.reported == reported
    assert end.finished is (reported is not None)
    if how == "os._exit":
        assert end.exit_status == 0 and "without finishing" in end.describe()


def test_a_signal_inside_a_critical_section_is_raised_when_it_ends() -> None:
    from mlrecipes.process.signals import deferred_signals

    finished = False
    with pytest.raises(Interrupted, match="SIGTERM"), signals_as_exceptions(), deferred_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        finished = True  # the registry call completes; its answer is not lost
    assert finished


def test_a_signal_whose_exception_was_swallowed_is_raised_again() -> None:
    """A handler's exception can be dropped (inside a finalizer, or by code catching
    BaseException): the signal must still end the work."""
    import os
    import signal

    from mlrecipes.errors import Interrupted
    from mlrecipes.process.signals import raise_if_interrupted, signals_as_exceptions

    with pytest.raises(Interrupted, match="SIGINT"), signals_as_exceptions():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs at the next bytecodes
                pass
        except BaseException:  # noqa: BLE001  (what careless code does)
            pass
    raise_if_interrupted()  # nothing left over afterwards


# --- damaged Delta tables are never new empty ones (#31) --------------------------------------


def test_a_table_without_its_log_or_with_a_corrupt_log_is_an_error_naming_it(
    tmp_path: Path,
) -> None:
    from mlrecipes.io.monitoring_table import SCHEMA, append_rows, read_table
    from mlrecipes.loop.retrain import TRIGGER_SCHEMA

    row = {name: None for name in SCHEMA.names} | {"window": "2026-01-31", "value": 1.0}
    table = tmp_path / "monitoring"
    append_rows(table, [row])
    append_rows(table, [row])
    assert len(read_table(table)) == 2
    shutil.rmtree(table / "_delta_log")
    files = sorted(table.rglob("*.parquet"))
    for action in (lambda: read_table(table), lambda: append_rows(table, [row])):
        with pytest.raises(
            DatasetError,
            match=r"the monitoring table at .* holds 2 data file\(s\) but no _delta_log",
        ):
            action()
    assert sorted(table.rglob("*.parquet")) == files and not (table / "_delta_log").exists()

    trigger = tmp_path / "trigger"
    append_rows(
        trigger, [{n: None for n in TRIGGER_SCHEMA.names}], TRIGGER_SCHEMA, "the trigger table"
    )
    (trigger / "_delta_log" / "00000000000000000000.json").write_text("{not json")
    with pytest.raises(DatasetError) as caught:
        read_table(trigger, TRIGGER_SCHEMA, "the trigger table")
    message = str(caught.value)
    assert message.startswith("the trigger table at") and "cannot be read" in message
    assert "\n" not in message and "<unknown>" not in message
    assert len(read_table(tmp_path / "none")) == 0  # nothing there: a new, empty table


def test_scoring_into_a_folder_of_orphaned_delta_files_is_refused(tmp_path: Path) -> None:
    from mlrecipes.io.batches import write_batches

    out = tmp_path / "scores"
    batch = pa.RecordBatch.from_pydict({"a": [1, 2]})
    assert write_batches(iter([batch]), batch.schema, "delta", out, "append") == 2
    shutil.rmtree(out / "_delta_log")
    with pytest.raises(DatasetError, match=r"the scoring output at .* but no _delta_log"):
        write_batches(iter([batch]), batch.schema, "delta", out, "append")
    assert not (out / "_delta_log").exists()


def test_a_killed_predict_window_is_adopted_only_for_the_same_input_and_model() -> None:
    """#31: what the next predict does with the window a killed run committed but never
    recorded (scoring/recovery.py)."""
    from mlrecipes.scoring.recovery import recovery

    pending = {"scored_at": "2026-01-31T00:00:00+00:00", "input": "abc", "model_uri": "m@1",
               "model_name": "churn", "model_version": "1"}  # fmt: skip
    assert recovery(pending, 1500, "abc", "m@1").action == "adopt"
    assert recovery(pending, 1500, "other data", "m@1").action == "orphan"
    assert recovery(pending, 1500, "abc", "m@2").action == "orphan"  # another champion now
    nothing = recovery(pending, 0, "abc", "m@1")
    assert nothing.action == "nothing" and "left nothing in" in nothing.message(Path("out"))
    adopt = recovery(pending, 1500, "abc", "m@1").message(Path("out"))
    assert "window 2026-01-31T00:00:00+00:00 (1500 rows, churn v1)" in adopt
