"""The steps are listed from their own declarations, and everything built from them agrees:
the schema's steps section, the DAG, the artifact names and the outputs steps read and write."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import mlrecipes.steps as steps_package
from mlrecipes.config.blocks import StepBlock
from mlrecipes.execution import dag
from mlrecipes.execution.artifacts import artifacts
from mlrecipes.execution.declarations import StepsConfig, step_classes
from mlrecipes.execution.declarations import steps_model as _steps_model

STEPS_DIR = Path(steps_package.__file__).parent
READERS = {"read_frame", "read_json", "read_text", "input_path"}
WRITERS = {"write_frame", "write_json", "write_text", "output_path"}


def declared(step: str) -> set[str]:
    return {o.name for o in step_classes()[step].outputs}


def test_the_steps_are_the_step_modules() -> None:
    modules = {p.stem for p in STEPS_DIR.glob("*.py")} - {"__init__", "base"}
    public = {m for m in modules if not m.startswith("_")}
    assert {cls.__module__.rsplit(".", 1)[1] for cls in step_classes().values()} == public
    assert set(step_classes()) == {
        "features", "ingest", "split", "transform", "train", "evaluate", "register", "deploy",
        "ingest_scoring", "predict", "monitor",
    }  # fmt: skip


def test_schema_steps_section_is_built_from_the_blocks() -> None:
    fields = StepsConfig.model_fields
    assert set(fields) == set(step_classes())
    for name, cls in step_classes().items():
        assert issubclass(cls.config_model, StepBlock), name
        field = fields[name]
        if cls.config_required:
            assert field.default is None, name
        else:
            assert isinstance(field.default_factory(), cls.config_model), name


def test_dag_order_follows_the_declared_inputs() -> None:
    order = dag.topological_order()
    assert order == [
        "features", "ingest", "split", "transform", "train", "evaluate", "register", "deploy",
        "ingest_scoring", "predict", "monitor",
    ]  # fmt: skip
    for name, cls in step_classes().items():
        for upstream in (*cls.inputs, *cls.after_if_configured):
            assert order.index(upstream) < order.index(name)
    assert dag.describe() == (
        "features → ingest → split → transform → train → evaluate → register → deploy;  "
        "ingest_scoring → predict → monitor"
    )
    assert dag.plan("register")[-1] == "register" and "predict" not in dag.plan("register")


def test_features_run_before_ingest_only_when_configured() -> None:
    from types import SimpleNamespace

    without = SimpleNamespace(steps=SimpleNamespace(features=None))
    with_features = SimpleNamespace(steps=SimpleNamespace(features=object()))
    assert dag.plan("split", without) == ["ingest", "split"]
    assert dag.plan("split") == ["ingest", "split"]  # no configuration: no optional step
    assert dag.plan("split", with_features) == ["features", "ingest", "split"]
    assert "features" not in dag.plan("predict", with_features)


def test_artifact_names_come_from_the_outputs_and_are_unique() -> None:
    served = [
        (name, step, output.file)
        for step, cls in step_classes().items()
        for output in cls.outputs
        for name in output.artifacts
    ]
    names = [name for name, _, _ in served]
    assert len(names) == len(set(names)), "two outputs serve the same artifact name"
    table = artifacts()
    assert {name: (spec.step, spec.file) for name, spec in table.items()} == {
        name: (step, file) for name, step, file in served
    }
    # MLflow Recipes' names are all there
    assert {
        "ingested_data", "training_data", "validation_data", "test_data", "transformer",
        "transformed_training_data", "transformed_validation_data", "model", "run",
        "best_parameters", "predicted_training_data", "registered_model_version",
        "ingested_scoring_data", "scored_data",
    } <= set(table)  # fmt: skip


def _output_uses(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, ...literal string arguments) of every ctx.<reader or writer>(...) call."""
    uses = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in READERS | WRITERS and getattr(node.func.value, "id", None) == "ctx":
                literals = tuple(
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                )
                uses.append((method, path.stem, literals))
    return uses


def test_every_output_a_step_reads_or_writes_is_declared() -> None:
    classes = step_classes()
    owner = {cls.__module__.rsplit(".", 1)[1]: name for name, cls in classes.items()}
    checked = 0
    for path in sorted(STEPS_DIR.glob("*.py")):
        step = owner.get(path.stem)
        for method, _, literals in _output_uses(path):
            if not literals:  # a name held in a variable: StepContext checks it when it runs
                continue
            if method in READERS:
                upstream, output = literals
                assert output in declared(upstream), f"{path.name}: {upstream}.{output}"
                if step is not None:
                    reachable = set(dag.plan(step)) - {step}
                    assert upstream in reachable, f"{path.name} reads {upstream}, not upstream"
            else:
                (output,) = literals[:1]
                steps = [step] if step is not None else list(classes)
                assert any(output in declared(s) for s in steps), f"{path.name}: {output}"
            checked += 1
    assert checked > 30  # the scan sees the steps' reads and writes


def test_an_undeclared_output_is_refused_when_used(tmp_path: Path) -> None:
    from mlrecipes.steps.base import RunMemory, StepContext

    ctx = StepContext(
        "split", None, None, tmp_path, RunMemory(), print, declarations=step_classes()
    )  # type: ignore[arg-type]
    with pytest.raises(LookupError, match="step 'split' declares no output named 'training'"):
        ctx.write_text("training", "x")
    assert ctx.output_path("train") == tmp_path / "train.parquet"


def test_a_new_step_is_one_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module dropped into the steps package joins the schema, the DAG and get-artifact."""
    extra = tmp_path / "pkg"
    extra.mkdir()
    (extra / "audit.py").write_text(
        textwrap.dedent(
            """
            from mlrecipes.config.blocks import StepBlock
            from mlrecipes.steps.base import Output, Step, StepResult


            class AuditConfig(StepBlock):
                threshold: float = 0.5


            class AuditStep(Step):
                name = "audit"
                config_model = AuditConfig
                inputs = ("predict",)
                outputs = (Output("report", "audit.json", {"audit_report": "text"}),)
                pipeline = "scoring"

                def run(self, ctx):
                    ctx.write_json("report", {"ok": True})
                    return StepResult(summary={}, card=ctx.new_card())
            """
        )
    )
    monkeypatch.setattr(steps_package, "__path__", [*steps_package.__path__, str(extra)])
    step_classes.cache_clear()
    try:
        assert "audit" in step_classes()
        assert _steps_model()(audit={"threshold": 0.9}).audit.threshold == 0.9
        order = dag.topological_order()
        assert order.index("audit") == order.index("predict") + 1
        assert dag.describe().endswith("ingest_scoring → predict → audit → monitor")
        assert artifacts()["audit_report"].file == "audit.json"
        with pytest.raises(Exception, match="threshold"):
            _steps_model()(audit={"threshold": "high"})
    finally:
        monkeypatch.undo()
        step_classes.cache_clear()
    assert "audit" not in step_classes()


def test_a_step_module_with_two_steps_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlrecipes.errors import RecipeGraphError

    extra = tmp_path / "pkg2"
    extra.mkdir()
    (extra / "twice.py").write_text(
        "from mlrecipes.steps.ingest import IngestStep\n"
        "class A(IngestStep):\n    name = 'a'\n"
        "class B(IngestStep):\n    name = 'b'\n"
    )
    monkeypatch.setattr(steps_package, "__path__", [*steps_package.__path__, str(extra)])
    step_classes.cache_clear()
    try:
        with pytest.raises(RecipeGraphError, match=r"twice\.py must define exactly one Step"):
            step_classes()
    finally:
        monkeypatch.undo()
        step_classes.cache_clear()


def test_outputs_read_from_a_models_run_are_declared_logged_by_their_step() -> None:
    """deploy and monitor read another run's training rows and monitoring reference by name:
    each name is an output its step declares ``logged`` and logs with ``ctx.log_output``."""
    classes = step_classes()
    owner = {cls.__module__.rsplit(".", 1)[1]: name for name, cls in classes.items()}
    logged_by_steps: set[tuple[str, str]] = set()
    read_from_runs: set[tuple[str, str]] = set()
    for path in sorted(STEPS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            literals = [
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if node.func.attr == "log_output":
                step = owner.get(path.stem) or "train"  # _train_log logs for train
                logged_by_steps.add((step, literals[0]))
            elif node.func.attr == "logged_output_of":
                read_from_runs.add((literals[0], literals[1]))
    assert read_from_runs == {("train", "training_rows"), ("evaluate", "monitoring_reference")}
    assert read_from_runs <= logged_by_steps
    for step, name in read_from_runs:
        (output,) = [o for o in classes[step].outputs if o.name == name]
        assert output.logged, f"{step}.{name} is read from MLflow but not declared logged"


def test_a_context_refuses_to_log_or_fetch_an_output_not_declared_logged(tmp_path: Path) -> None:
    from mlrecipes.steps.base import RunMemory, StepContext

    ctx = StepContext(
        "split", None, None, tmp_path, RunMemory(), print, declarations=step_classes()
    )  # type: ignore[arg-type]
    with pytest.raises(LookupError, match="step 'split' does not log its output 'train'"):
        ctx.log_output("train")
    with pytest.raises(LookupError, match="step 'train' does not log its output 'model_info'"):
        ctx.logged_output_of("churn", "1", "train", "model_info", tmp_path)


class _Outputs:
    """The part of the execution directory a frame handoff touches: each step's outputs folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def outputs(self, step: str) -> Path:
        return self.root / step

    def step_dir(self, step: str) -> Path:
        return self.root / step


def _mixed_frames() -> list[pd.DataFrame]:
    """Frames whose in-memory and parquet spellings differ, as a CSV read and ingest give them."""
    import numpy as np

    rows = 6
    return [
        pd.DataFrame({"cabin": ["C85", np.nan, "E46", None, np.nan, "B28"]}),  # text: NaN, None
        pd.DataFrame({"siblings": pd.array([1, None, 3, 0, None, 2], dtype="Int64")}),
        pd.DataFrame({"alone": pd.array([True, None, False, True, None, False], dtype="boolean")}),
        pd.DataFrame(
            {
                "boarded": pd.date_range(
                    "1912-04-10 12:00", periods=rows, freq="h", tz="Europe/London"
                )
            }
        ),
        pd.DataFrame({"class": pd.Categorical(["1st", "3rd", None, "2nd", "3rd", "1st"])}),
        pd.DataFrame({"fare": [7.25, np.nan, 71.28, 8.05, np.nan, 53.1], "n": range(rows)}),
    ]


@pytest.mark.parametrize("frame", _mixed_frames(), ids=lambda f: "-".join(f.columns))
def test_a_step_gets_its_input_as_a_re_read_of_the_file_never_the_writers_frame(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    """#27: one run hands each step what its upstream wrote exactly as a step-by-step run reads
    it back (a missing text value is NaN in the writer's frame and None in the file)."""
    from mlrecipes.steps.base import RunMemory, StepContext

    memory, files = RunMemory(), _Outputs(tmp_path)
    writer = StepContext(
        "ingest", None, files, tmp_path / "ingest", memory, print, declarations=step_classes()
    )  # type: ignore[arg-type]
    writer.write_frame("dataset", frame)
    memory.frames.update(writer.pending)  # what the engine does after a step succeeds
    reader = StepContext(
        "split", None, files, tmp_path / "split", memory, print, declarations=step_classes()
    )  # type: ignore[arg-type]
    handed = reader.read_frame("ingest", "dataset")
    reread = pd.read_parquet(tmp_path / "ingest" / "dataset.parquet")
    pd.testing.assert_frame_equal(handed, reread)
    # strictly: assert_frame_equal counts None and NaN as one, scikit-learn does not
    assert spellings(handed) == spellings(reread)
    assert reader.read_frame("ingest", "dataset") is handed  # read once per process


def spellings(frame: pd.DataFrame) -> dict[str, list[str]]:
    return {c: [type(v).__name__ for v in frame[c].astype(object)] for c in frame.columns}


def test_the_strict_comparison_tells_nan_from_none() -> None:
    import numpy as np

    assert spellings(pd.DataFrame({"a": [np.nan]})) != spellings(pd.DataFrame({"a": [None]}))
