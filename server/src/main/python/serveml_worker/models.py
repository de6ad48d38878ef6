"""Loads a model by format and answers predictions in the shapes PROTOCOL.md promises.

Each adapter has `signature` and `metadata` (JSON-ready dicts) and `predict(inputs)`, which takes
and returns a dict name -> numpy array. Frameworks are imported here, lazily, by the adapter that
needs them, so a worker for a pickle never pays for torch.
"""
import importlib.util
import json
import os
import pickle
import sys
import warnings

import numpy as np

FORMATS = ("pickle", "joblib", "xgboost", "torchscript", "handler")


class InputError(Exception):
    """The request does not fit the model (sent as ERROR kind `input`)."""


class LoadError(Exception):
    """The model file loaded but cannot be served (sent as ERROR kind `load`)."""


def load(model_dir, model_file, model_format):
    """Loads a model; returns (adapter, warnings as strings). Exceptions are load failures."""
    if model_format not in FORMATS:
        raise LoadError(f"unknown model format '{model_format}'; known: {', '.join(FORMATS)}")
    path = os.path.join(model_dir, model_file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adapter = _LOADERS[model_format](model_dir, path)
    return adapter, [f"{w.category.__name__}: {w.message}" for w in caught]


def _load_pickle(model_dir, path):
    with open(path, "rb") as f:
        return _adapt(pickle.load(f))


def _load_joblib(model_dir, path):
    import joblib
    return _adapt(joblib.load(path))


def _load_xgboost(model_dir, path):
    import xgboost
    return BoosterModel(xgboost.Booster(model_file=path))


def _adapt(obj):
    cls = type(obj)
    if cls.__module__.startswith("xgboost") and cls.__name__ == "Booster":
        return BoosterModel(obj)
    if not callable(getattr(obj, "predict", None)):
        raise LoadError(f"the loaded object is a {cls.__name__}, which has no predict method")
    return SklearnModel(obj)


def spec(name, datatype, shape, columns=()):
    return {"name": name, "datatype": datatype, "shape": list(shape), "kind": "tensor",
            "columns": list(columns)}


def _framework(obj):
    top = type(obj).__module__.split(".")[0]
    version = getattr(sys.modules.get(top), "__version__", None)
    return f"{top} {version}" if version else top


def _only_input(inputs, name):
    if name not in inputs:
        raise InputError(f"missing input '{name}'")
    extra = sorted(set(inputs) - {name})
    if extra:
        raise InputError(f"unknown input(s) {', '.join(extra)}; the model takes only '{name}'")
    return inputs[name]


def _matrix(x, n_features, name="X"):
    if x.ndim != 2:
        raise InputError(f"{name} must have 2 dimensions [rows, columns], got shape {list(x.shape)}")
    if n_features is not None and x.shape[1] != n_features:
        noun = "column" if x.shape[1] == 1 else "columns"
        raise InputError(f"{name} has {x.shape[1]} {noun} but the model was trained on {n_features}")
    return x


class SklearnModel:
    """scikit-learn estimators and Pipelines, and anything shaped like them (XGBClassifier)."""

    def __init__(self, estimator):
        self._estimator = estimator
        n = getattr(estimator, "n_features_in_", None)
        self._n_features = int(n) if n is not None else None
        names = getattr(estimator, "feature_names_in_", None)
        self._columns = [str(c) for c in names] if names is not None else []
        self._frame = _data_frame_maker() if self._columns else None
        estimator_type = getattr(estimator, "_estimator_type", None)
        classes = getattr(estimator, "classes_", None)
        self._classes = np.asarray(classes) if classes is not None else None
        self._classifier = (estimator_type == "classifier" and self._classes is not None
                            and self._classes.ndim == 1)
        self._proba = self._classifier and callable(getattr(estimator, "predict_proba", None))
        # One call instead of two where the label is by definition the most probable class.
        self._label_from_proba = self._proba and _predicts_argmax_of_proba(estimator)
        self._label_type = _label_datatype(self._classes) if self._classifier else None

        outputs = self._output_specs()
        self.signature = {"inputs": [spec("X", "FP64", [-1, self._n_features or -1], self._columns)],
                          "outputs": outputs}
        self.metadata = {"framework": _framework(estimator), "estimator": type(estimator).__name__,
                         "estimator_type": estimator_type, "n_features": self._n_features,
                         "feature_names": self._columns}
        if self._classifier:
            self.metadata["classes"] = [_json_label(c) for c in self._classes]

    def _output_specs(self):
        if self._classifier:
            outputs = [spec("label", self._label_type, [-1])]
            if self._proba:
                outputs.append(spec("probabilities", "FP64", [-1, len(self._classes)]))
            return outputs
        n_outputs = getattr(self._estimator, "n_outputs_", 1)
        return [spec("prediction", "FP64", [-1] if n_outputs == 1 else [-1, n_outputs])]

    def predict(self, inputs):
        x = _matrix(_only_input(inputs, "X"), self._n_features)
        if x.dtype == object:  # BYTES: scikit-learn's string features are str, not bytes
            x = np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(x)
        else:
            x = x.astype(np.float64, copy=False)
        if self._frame is not None:
            x = self._frame(x, self._columns)
        with warnings.catch_warnings():
            # Without pandas the columns cannot carry their names; the count was checked above.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            if not self._classifier:
                return {"prediction": np.asarray(self._estimator.predict(x), dtype=np.float64)}
            if self._label_from_proba:
                proba = np.asarray(self._estimator.predict_proba(x), dtype=np.float64)
                labels = self._classes.take(np.argmax(proba, axis=1), axis=0)
                return {"label": _labels(labels, self._label_type), "probabilities": proba}
            outputs = {"label": _labels(np.asarray(self._estimator.predict(x)), self._label_type)}
            if self._proba:
                outputs["probabilities"] = np.asarray(self._estimator.predict_proba(x),
                                                      dtype=np.float64)
            return outputs


def _predicts_argmax_of_proba(estimator):
    """Whether scikit-learn defines this estimator's predict as classes_[argmax(predict_proba)]
    (forests and decision trees with one output, alone or ending a Pipeline). Others (SVC's
    Platt scaling, thresholds of boosted models) may disagree with their probabilities, so they
    keep their own predict."""
    try:
        from sklearn.ensemble._forest import ForestClassifier
        from sklearn.pipeline import Pipeline
        from sklearn.tree import DecisionTreeClassifier
    except ImportError:
        return False
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    return (isinstance(final, (ForestClassifier, DecisionTreeClassifier))
            and getattr(final, "n_outputs_", 1) == 1)


def _data_frame_maker():
    """pandas.DataFrame when pandas imports, so column-name-based pipelines work; else None."""
    try:
        import pandas
    except ImportError:
        return None
    return lambda x, columns: pandas.DataFrame(x, columns=columns)


def _label_datatype(classes):
    kind = classes.dtype.kind
    if kind in "iu":
        return "INT64"
    if kind in "SU":
        return "BYTES"
    if kind == "O":
        if all(isinstance(c, (str, bytes)) for c in classes):
            return "BYTES"
        if all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes):
            return "INT64"
    return "FP64"


def _labels(labels, datatype):
    if datatype == "INT64":
        return labels.astype(np.int64)
    if datatype == "BYTES":
        return labels.astype(object)  # str and bytes elements; the encoder writes str as UTF-8
    return labels.astype(np.float64)


def _json_label(c):
    if isinstance(c, np.generic):
        c = c.item()
    return c.decode("utf-8", errors="replace") if isinstance(c, bytes) else c


class BoosterModel:
    """A native XGBoost model (`xgboost.Booster`)."""

    def __init__(self, booster):
        self._booster = booster
        self._n_features = booster.num_features()
        columns = booster.feature_names or []
        objective, width = _booster_output(booster)
        self.signature = {"inputs": [spec("X", "FP32", [-1, self._n_features], columns)],
                          "outputs": [spec("prediction", "FP32", [-1] if width == 1 else [-1, width])]}
        self.metadata = {"framework": _framework(booster), "estimator": "Booster",
                         "objective": objective, "n_features": self._n_features,
                         "feature_names": columns}

    def predict(self, inputs):
        x = _matrix(_only_input(inputs, "X"), self._n_features)
        if x.dtype == object:
            raise InputError("X must be numbers, not BYTES")
        x = x.astype(np.float32, copy=False)
        return {"prediction": np.asarray(self._booster.inplace_predict(x), dtype=np.float32)}


def _booster_output(booster):
    """(objective, values per row) from the booster's saved configuration."""
    learner = json.loads(booster.save_config())["learner"]
    objective = learner["objective"]["name"]
    params = learner["learner_model_param"]
    if objective == "multi:softprob":
        return objective, int(params["num_class"])
    return objective, int(params.get("num_target", 1))


TORCHSCRIPT_SIGNATURE_FILE = "signature.json"


class TorchScriptModel:
    """A TorchScript module, run on the CPU with one thread and no autograd."""

    def __init__(self, path):
        import torch
        self._torch = torch
        torch.set_num_threads(1)
        extra = {TORCHSCRIPT_SIGNATURE_FILE: ""}
        self._module = torch.jit.load(path, map_location="cpu", _extra_files=extra)
        self._module.eval()
        declared = extra[TORCHSCRIPT_SIGNATURE_FILE]
        self.signature = (_declared_signature(json.loads(declared)) if declared else
                          {"inputs": [spec("input", "FP32", [-1, -1])],
                           "outputs": [spec("output", "FP32", [-1, -1])]})
        self.metadata = {"framework": f"torch {torch.__version__}",
                         "estimator": self._module.original_name}

    def predict(self, inputs):
        torch = self._torch
        names = [s["name"] for s in self.signature["inputs"]]
        missing = [n for n in names if n not in inputs]
        extra = sorted(set(inputs) - set(names))
        if missing or extra:
            raise InputError(f"the model takes {', '.join(names)}; missing: {', '.join(missing) or '-'}, "
                             f"unknown: {', '.join(extra) or '-'}")
        args = []
        for s in self.signature["inputs"]:
            if inputs[s["name"]].dtype == object:
                raise InputError(f"{s['name']} must be numbers, not BYTES")
            args.append(torch.from_numpy(inputs[s["name"]].astype(_NUMPY[s["datatype"]])))
        with torch.inference_mode():
            result = self._module(*args)
        results = list(result) if isinstance(result, (tuple, list)) else [result]
        outputs = {}
        for s, value in zip(self.signature["outputs"], results):
            outputs[s["name"]] = value.detach().cpu().numpy().astype(_NUMPY[s["datatype"]])
        return outputs


_NUMPY = {"BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
          "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32,
          "INT64": np.int64, "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
          "BYTES": object}


def _declared_signature(declared):
    """A signature written by a model author (torchscript extra file, handler SIGNATURE)."""
    if not isinstance(declared, dict):
        raise LoadError("a declared signature must be an object with 'inputs' and 'outputs'")
    result = {}
    for side in ("inputs", "outputs"):
        specs = declared.get(side)
        if not isinstance(specs, list) or not specs:
            raise LoadError(f"a declared signature needs a non-empty list of {side}")
        result[side] = []
        for s in specs:
            if not isinstance(s, dict) or not isinstance(s.get("name"), str) \
                    or s.get("datatype") not in _NUMPY or not isinstance(s.get("shape"), list):
                raise LoadError(f"a declared {side[:-1]} needs a name, a datatype and a shape: {s!r}")
            result[side].append(spec(s["name"], s["datatype"], [int(d) for d in s["shape"]],
                                     s.get("columns", [])))
    return result


class HandlerModel:
    """A model directory with a `handler.py` that does its own loading and predicting."""

    def __init__(self, model_dir):
        path = os.path.join(model_dir, "handler.py")
        if not os.path.isfile(path):
            raise LoadError("the model directory has no handler.py")
        if model_dir not in sys.path:
            sys.path.insert(0, model_dir)
        module_spec = importlib.util.spec_from_file_location("serveml_handler", path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        for name in ("load", "predict"):
            if not callable(getattr(module, name, None)):
                raise LoadError(f"handler.py defines no {name} function")
        self._handler = module
        module.load(model_dir)
        declared = getattr(module, "SIGNATURE", None)
        self.signature = (_declared_signature(declared) if declared is not None else
                          {"inputs": [spec("input", "FP32", [-1, -1])],
                           "outputs": [spec("output", "FP32", [-1, -1])]})
        self.metadata = {"framework": "handler"}

    def predict(self, inputs):
        handler = self._handler
        if callable(getattr(handler, "preprocess", None)):
            inputs = handler.preprocess(inputs)
        outputs = handler.predict(inputs)
        if callable(getattr(handler, "postprocess", None)):
            outputs = handler.postprocess(outputs)
        if not isinstance(outputs, dict):
            outputs = {"output": outputs}
        return {str(name): np.asarray(value) for name, value in outputs.items()}


_LOADERS = {
    "pickle": _load_pickle,
    "joblib": _load_joblib,
    "xgboost": _load_xgboost,
    "torchscript": lambda model_dir, path: TorchScriptModel(path),
    "handler": lambda model_dir, path: HandlerModel(model_dir),
}
