"""The library side of tasks, without a bake: weights that load back as saved, signatures that
know their task and classes, and answers named by them (weightline.ops.weights, .loading)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss

from weightline.domain.signature import Signature, breaking_changes
from weightline.errors import ConfigurationError, SignatureError
from weightline.ops.loading import predictions
from weightline.ops.weights import load_arrays, read_signature, save_arrays


def test_fortran_ordered_and_strided_arrays_load_back_equal(tmp_path):
    """safetensors writes a Fortran-ordered array's buffer as if C-ordered (upstream #825)."""
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    arrays = {
        "fortran": np.asfortranarray(base),
        "transposed": base.T,
        "strided": base[:, ::2],
        "sliced": base[1:3, 1:5],
        "scalar": np.array(3.5),
        "ints": np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4)),
    }
    assert not arrays["fortran"].flags.c_contiguous and not arrays["strided"].flags.c_contiguous
    path = tmp_path / "w.safetensors"
    save_arrays(arrays, path, {"weightline": "{}"})
    loaded, metadata = load_arrays(path)
    assert metadata == {"weightline": "{}"}
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape


def test_a_multiclass_model_scores_the_same_after_reload(tmp_path):
    """scikit-learn's coef_ of a 3-class model is Fortran-ordered: the case that broke."""
    frame = load_wine(as_frame=True).frame
    train, holdout = frame.iloc[::2], frame.iloc[1::2]
    x, y = train.drop(columns="target").to_numpy(), train["target"].to_numpy()
    fitted = LogisticRegression(max_iter=5000).fit((x - x.mean(0)) / x.std(0), y)
    assert fitted.coef_.shape == (3, 13) and not fitted.coef_.flags.c_contiguous

    def scores(coef: np.ndarray, intercept: np.ndarray) -> tuple[float, float]:
        h = holdout.drop(columns="target").to_numpy()
        logits = ((h - x.mean(0)) / x.std(0)) @ coef.T + intercept
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return accuracy_score(holdout["target"], p.argmax(1)), log_loss(holdout["target"], p)

    before = scores(fitted.coef_, fitted.intercept_)
    save_arrays({"coef": fitted.coef_, "intercept": fitted.intercept_}, tmp_path / "m.safetensors")
    arrays, _ = load_arrays(tmp_path / "m.safetensors")
    assert scores(arrays["coef"], arrays["intercept"]) == before
    assert before[0] > 0.9


FEATURES = pd.DataFrame({"a": [0.1, 0.5, 0.9, 0.3], "b": [1, 2, 3, 4]})


def test_signatures_record_the_task_and_the_classes(tmp_path):
    text = Signature.from_training(FEATURES, pd.Series(["no", "yes", "no", "maybe"]), "multiclass")
    assert text.classes == ("maybe", "no", "yes")
    assert [c.name for c in text.outputs] == [
        "label",
        "probability_maybe",
        "probability_no",
        "probability_yes",
    ]
    assert text.class_index(["yes", "maybe"]).tolist() == [2, 0]
    assert text.class_names([1, 2]) == ["no", "yes"]
    with pytest.raises(SignatureError, match="not trained on: perhaps"):
        text.class_index(["perhaps"])
    with pytest.raises(SignatureError, match=r"class numbers \[3\]"):
        text.class_names([3])
    assert Signature.from_dict(text.to_dict()) == text

    numbers = Signature.from_training(FEATURES, np.array([0, 1, 1, 0]), "binary")
    assert numbers.classes == (0, 1) and numbers.outputs[0].dtype == "int64"
    value = Signature.from_training(FEATURES, pd.Series([1.5, 2.0, 3.0, 4.0]), "regression")
    assert (value.task, value.classes, [c.name for c in value.outputs]) == (
        "regression",
        (),
        ["prediction"],
    )
    path = tmp_path / "w.safetensors"
    save_arrays({"w": np.zeros(2)}, path, value.metadata(framework="sklearn"))
    assert read_signature(path) == value

    for target, task, message in [
        (["a", "b", "c", "a"], "binary", "exactly 2 classes; the target has 3"),
        (["a", "b", "a", "b"], "regression", "must be numbers"),
        ([1, "b", 1, "b"], "binary", "mixes kinds"),
        ([0, 1, 0, 1], "ordinal", "unknown task"),
    ]:
        with pytest.raises(SignatureError, match=message):
            Signature.from_training(FEATURES, pd.Series(target), task)
    with pytest.raises(SignatureError, match=r"c \(str\)"):
        Signature.from_training(FEATURES.assign(c="x"), pd.Series([0, 1, 0, 1]), "binary")


def test_old_signatures_are_binary_with_a_probability_output():
    old = {
        "schema_version": 1,
        "inputs": [{"name": "a", "dtype": "float64", "shape": [-1], "nullable": False}],
        "input_shape": [-1, 1],
        "outputs": [{"name": "probability", "dtype": "float64", "shape": [-1], "nullable": False}],
    }
    signature = Signature.from_dict(old)
    assert (signature.task, signature.classes) == ("binary", (0, 1))
    assert [c.name for c in signature.outputs] == ["probability"]
    assert signature == Signature.infer(FEATURES[["a"]], outputs={"probability": "float64"})
    new = Signature.from_training(FEATURES[["a"]], pd.Series([0, 1, 0, 1]), "binary")
    assert any(change.startswith("outputs changed") for change in breaking_changes(signature, new))
    regression = Signature.from_training(FEATURES[["a"]], pd.Series([0.5, 1, 2, 3]), "regression")
    assert "task: binary -> regression" in breaking_changes(new, regression)


def test_checks_refuse_infinite_numbers_with_the_predict_messages():
    signature = Signature.from_training(FEATURES, pd.Series([0, 1, 0, 1]), "binary")
    bad = FEATURES.assign(a=[0.1, np.inf, -np.inf, 0.2])
    with pytest.raises(SignatureError, match=r"infinite values \(inf or -inf\): a \(2 rows\)"):
        signature.check(bad, "the hold-out set")
    with pytest.raises(SignatureError, match="the hold-out set: missing columns: b"):
        signature.check(FEATURES[["a"]], "the hold-out set")


class Proba:
    """A loader's model with both methods."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-(x[:, 0] - 0.5) * 10))
        return np.column_stack([1 - p, p])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(1)


class Legacy:
    """A model of the first releases: predict_proba gives P(class 1) only, no predict."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return Proba().predict_proba(x)[:, 1]


class LabelsOnly:
    def predict(self, x: np.ndarray) -> np.ndarray:
        return (x[:, 0] > 0.5).astype(np.int64)


class Strings:
    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.where(x[:, 0] > 0.5, "yes", "no")


class Values:
    def predict(self, x: np.ndarray) -> np.ndarray:
        return x[:, 0] * 2


def test_answers_are_named_by_the_signature():
    frame = FEATURES.set_index(pd.Index([10, 11, 12, 13]))
    signature = Signature.from_training(FEATURES, pd.Series(["no", "yes", "no", "yes"]), "binary")
    both = predictions(signature, Proba(), frame, "v1")
    assert list(both.columns) == ["label", "probability_no", "probability_yes"]
    assert both.index.tolist() == [10, 11, 12, 13]
    assert both["label"].tolist() == ["no", "no", "yes", "no"]
    assert predictions(signature, LabelsOnly(), frame, "v1").columns.tolist() == ["label"]
    with pytest.raises(ConfigurationError, match=r"class numbers 0\.\.k-1"):
        predictions(signature, Strings(), frame, "v1")

    old = Signature.infer(FEATURES, outputs={"probability": "float64"})
    legacy = predictions(old, Legacy(), frame, "v1")
    assert list(legacy.columns) == ["label", "probability_0", "probability_1"]
    np.testing.assert_allclose(legacy["probability_1"], Legacy().predict_proba(frame.to_numpy()))
    assert legacy["label"].tolist() == [0, 0, 1, 0]

    value = Signature.from_training(FEATURES, pd.Series([1.0, 2, 3, 4]), "regression")
    answer = predictions(value, Values(), frame, "v1")
    assert answer.columns.tolist() == ["prediction"]
    np.testing.assert_allclose(answer["prediction"], FEATURES["a"] * 2)
