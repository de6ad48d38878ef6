"""Tests for the Python worker, acting as the ServeML server over a real Unix socket.

Run: cd /work/wt-worker && PYTHONPATH=server/src/main/python \
         /usr/bin/python3 -m unittest discover -s server/src/test/python -v
"""
import json
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import textwrap
import unittest

import numpy as np

from serveml_worker import protocol
from serveml_worker.protocol import decode_tensors, encode_frame, encode_tensors

TIMEOUT = 30
MAIN_PYTHON = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "main", "python"))

# One FP32 tensor "X", shape [1, 2], data [1.0, 2.0]; PROTOCOL.md shows the same bytes.
GOLDEN_TENSORS_HEX = ("0100" "0100" "58" "0a" "02" "0100000000000000" "0200000000000000"
                      "0800000000000000" "0000803f" "00000040")


class AllocatesOnUnpickle:
    """Unpickles as a 1 GiB bytearray: a model too big for a 200 MiB limit."""

    def __reduce__(self):
        return bytearray, (1 << 30,)


FLAKY_MODULE = '''
import numpy as np

class Flaky:
    """Predicts the row sums, and refuses negative first values the way buggy models do."""
    n_features_in_ = 2
    _estimator_type = "regressor"

    def predict(self, X):
        if X[0, 0] < 0:
            raise ZeroDivisionError("negative values divide by zero here")
        return X.sum(axis=1)
'''

HANDLER = '''
import warnings
import numpy as np

SIGNATURE = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
             "outputs": [{"name": "length", "datatype": "INT64", "shape": [-1]}]}
state = {}

def load(model_dir):
    print("handler loading from stdout")  # must not reach the worker's stdout
    warnings.warn("handler was trained on a newer tokenizer")
    state["offset"] = 100

def preprocess(inputs):
    return [t.decode("utf-8") for t in inputs["text"]]

def predict(texts):
    return np.array([len(t) + state["offset"] for t in texts], dtype=np.int64)

def postprocess(lengths):
    return {"length": lengths - 100}
'''


class Worker:
    """One worker process connected to a listening socket this test owns."""

    def __init__(self, tmp, *extra_args, env_path=()):
        self.socket_path = os.path.join(tmp, f"w{len(os.listdir(tmp))}.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.socket_path)
        self.listener.listen(1)
        self.listener.settimeout(TIMEOUT)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([MAIN_PYTHON, *env_path]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serveml_worker", "--socket", self.socket_path, *extra_args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(TIMEOUT)
        message_type, payload = self.read()
        assert message_type == protocol.HELLO, message_type
        self.hello = json.loads(payload)

    def read(self):
        frame = protocol.read_frame(self.conn, 1 << 30)
        assert frame is not None, "the worker closed the connection"
        return frame

    def send(self, message_type, payload=b""):
        self.conn.sendall(encode_frame(message_type, payload))

    def load(self, model_dir, model_file, model_format):
        self.send(protocol.LOAD, json.dumps({"model_dir": model_dir, "model_file": model_file,
                                             "format": model_format}).encode())
        message_type, payload = self.read()
        return message_type, json.loads(payload)

    def predict(self, **tensors):
        self.send(protocol.PREDICT, encode_tensors(tensors))
        message_type, payload = self.read()
        if message_type == protocol.RESULT:
            return message_type, decode_tensors(payload)
        return message_type, json.loads(payload)

    def exit_status(self):
        """Waits for the worker to exit; returns (status, stdout text, stderr text)."""
        out, err = self.process.communicate(timeout=TIMEOUT)
        return self.process.returncode, out.decode(), err.decode()

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=TIMEOUT)
        self.conn.close()
        self.listener.close()


class WorkerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import sklearn
        from sklearn.datasets import load_iris
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        import torch
        import xgboost

        cls._tmp = tempfile.TemporaryDirectory(prefix="smw")
        cls.tmp = cls._tmp.name
        cls.models = os.path.join(cls.tmp, "models")
        os.mkdir(cls.models)
        iris = load_iris()
        cls.X, cls.y = iris.data, iris.target
        cls.names = iris.target_names[iris.target]  # string labels

        cls.forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(cls.X, cls.y)
        cls._pickle("forest.pkl", cls.forest)

        cls.pipeline = Pipeline([("scale", StandardScaler()),
                                 ("logreg", LogisticRegression(max_iter=500))])
        try:
            import pandas
            cls.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
            cls.pipeline.fit(pandas.DataFrame(cls.X, columns=cls.columns), cls.names)
        except ImportError:
            cls.columns = None
            cls.pipeline.fit(cls.X, cls.names)
        import joblib
        joblib.dump(cls.pipeline, os.path.join(cls.models, "pipeline.joblib"))

        cls.xgb = xgboost.XGBClassifier(n_estimators=10, max_depth=3, nthread=1).fit(cls.X, cls.y)
        cls._pickle("xgb.pkl", cls.xgb)
        cls.booster = xgboost.train({"objective": "reg:squarederror", "nthread": 1},
                                    xgboost.DMatrix(cls.X, label=cls.X[:, 0]), num_boost_round=5)
        cls.booster.save_model(os.path.join(cls.models, "booster.json"))

        torch.manual_seed(0)
        cls.linear = torch.nn.Linear(3, 2)
        torch.jit.trace(cls.linear, torch.zeros(1, 3)).save(os.path.join(cls.models, "linear.pt"))

        cls.handler_dir = os.path.join(cls.tmp, "handler")
        os.mkdir(cls.handler_dir)
        with open(os.path.join(cls.handler_dir, "handler.py"), "w") as f:
            f.write(textwrap.dedent(HANDLER))

        cls.flaky_dir = os.path.join(cls.tmp, "flaky")
        os.mkdir(cls.flaky_dir)
        with open(os.path.join(cls.flaky_dir, "flaky_model.py"), "w") as f:
            f.write(FLAKY_MODULE)
        sys.path.insert(0, cls.flaky_dir)
        try:
            import flaky_model
            cls._pickle("flaky.pkl", flaky_model.Flaky())
        finally:
            sys.path.remove(cls.flaky_dir)

        with open(os.path.join(cls.models, "corrupt.pkl"), "wb") as f:
            f.write(b"this is not a pickle")
        cls._pickle("huge.pkl", AllocatesOnUnpickle())
        cls.sklearn_version = sklearn.__version__

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    @classmethod
    def _pickle(cls, name, obj):
        with open(os.path.join(cls.models, name), "wb") as f:
            pickle.dump(obj, f)

    def start(self, *args, **kwargs):
        worker = Worker(self.tmp, *args, **kwargs)
        self.addCleanup(worker.close)
        return worker

    def loaded(self, model_file, model_format, model_dir=None, **kwargs):
        worker = self.start(**kwargs)
        message_type, answer = worker.load(model_dir or self.models, model_file, model_format)
        self.assertEqual(protocol.LOADED, message_type, answer)
        return worker, answer

    def assert_shuts_down_cleanly(self, worker):
        worker.send(protocol.SHUTDOWN)
        status, out, err = worker.exit_status()
        self.assertEqual(0, status, err)
        self.assertEqual("", out)

    # --- bytes on the wire -------------------------------------------------------------------

    def test_an_empty_shutdown_frame_has_the_pinned_bytes(self):
        self.assertEqual(bytes.fromhex("534D010700000000"), encode_frame(0x07, b""))

    def test_one_fp32_tensor_has_the_pinned_bytes(self):
        payload = encode_tensors({"X": np.array([[1.0, 2.0]], dtype=np.float32)})
        self.assertEqual(GOLDEN_TENSORS_HEX, payload.hex())
        decoded = decode_tensors(bytes.fromhex(GOLDEN_TENSORS_HEX))
        self.assertEqual(["X"], list(decoded))
        self.assertEqual(np.float32, decoded["X"].dtype)
        np.testing.assert_array_equal([[1.0, 2.0]], decoded["X"])

    def test_every_datatype_survives_a_round_trip(self):
        tensors = {t: np.arange(6).reshape(2, 3).astype(t)
                   for t in ["?", "u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f2", "f4", "f8"]}
        tensors["text"] = np.array([b"a", "b\u00e9".encode(), b""], dtype=object)
        tensors["scalar"] = np.float64(2.5)
        decoded = decode_tensors(encode_tensors(tensors))
        for name, array in tensors.items():
            self.assertEqual(np.asarray(array).shape, decoded[name].shape, name)
            np.testing.assert_array_equal(array, decoded[name], name)
        self.assertEqual(object, decoded["text"].dtype)

    def test_a_truncated_tensors_payload_is_a_protocol_error(self):
        with self.assertRaises(protocol.ProtocolError):
            decode_tensors(bytes.fromhex(GOLDEN_TENSORS_HEX)[:-1])

    # --- the conversation --------------------------------------------------------------------

    def test_hello_names_the_protocol_pid_python_and_packages(self):
        worker = self.start()
        self.assertEqual(1, worker.hello["protocol"])
        self.assertEqual(worker.process.pid, worker.hello["pid"])
        self.assertEqual(".".join(map(str, sys.version_info[:3])), worker.hello["python"])
        self.assertEqual(np.__version__, worker.hello["packages"]["numpy"])
        self.assertEqual(self.sklearn_version, worker.hello["packages"]["sklearn"])
        self.assert_shuts_down_cleanly(worker)

    def test_the_worker_exits_0_when_the_server_closes_the_socket(self):
        worker = self.start()
        worker.conn.close()
        status, _, err = worker.exit_status()
        self.assertEqual(0, status, err)

    def test_a_random_forest_answers_like_scikit_learn_on_all_of_iris(self):
        worker, loaded = self.loaded("forest.pkl", "pickle")
        self.assertEqual({"inputs": [{"name": "X", "datatype": "FP64", "shape": [-1, 4],
                                      "kind": "tensor", "columns": []}],
                          "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1],
                                       "kind": "tensor", "columns": []},
                                      {"name": "probabilities", "datatype": "FP64",
                                       "shape": [-1, 3], "kind": "tensor", "columns": []}]},
                         loaded["signature"])
        self.assertEqual({"framework": f"sklearn {self.sklearn_version}",
                          "estimator": "RandomForestClassifier", "estimator_type": "classifier",
                          "n_features": 4, "feature_names": [], "classes": [0, 1, 2]},
                         loaded["metadata"])
        self.assertEqual([], loaded["warnings"])
        message_type, result = worker.predict(X=self.X)
        self.assertEqual(protocol.RESULT, message_type, result)
        self.assertEqual(np.int64, result["label"].dtype)
        np.testing.assert_array_equal(self.forest.predict(self.X), result["label"])
        np.testing.assert_array_equal(self.forest.predict_proba(self.X), result["probabilities"])
        self.assert_shuts_down_cleanly(worker)

    def test_a_pipeline_with_string_classes_answers_bytes_labels(self):
        worker, loaded = self.loaded("pipeline.joblib", "joblib")
        metadata = loaded["metadata"]
        self.assertEqual("Pipeline", metadata["estimator"])
        self.assertEqual("classifier", metadata["estimator_type"])
        self.assertEqual(["setosa", "versicolor", "virginica"], metadata["classes"])
        self.assertEqual("BYTES", loaded["signature"]["outputs"][0]["datatype"])
        if self.columns is not None:
            self.assertEqual(self.columns, loaded["signature"]["inputs"][0]["columns"])
            self.assertEqual(self.columns, metadata["feature_names"])
        message_type, result = worker.predict(X=self.X)
        self.assertEqual(protocol.RESULT, message_type, result)
        expected = self.pipeline.predict(self._frame(self.X))
        self.assertEqual([s.encode() for s in expected], list(result["label"]))
        np.testing.assert_allclose(self.pipeline.predict_proba(self._frame(self.X)),
                                   result["probabilities"], rtol=1e-12)
        self.assert_shuts_down_cleanly(worker)

    def _frame(self, x):
        if self.columns is None:
            return x
        import pandas
        return pandas.DataFrame(x, columns=self.columns)

    def test_a_pickled_xgboost_classifier_answers_like_itself(self):
        worker, loaded = self.loaded("xgb.pkl", "pickle")
        self.assertEqual("XGBClassifier", loaded["metadata"]["estimator"])
        self.assertTrue(loaded["metadata"]["framework"].startswith("xgboost "))
        message_type, result = worker.predict(X=self.X)
        self.assertEqual(protocol.RESULT, message_type, result)
        np.testing.assert_array_equal(self.xgb.predict(self.X), result["label"])
        np.testing.assert_allclose(self.xgb.predict_proba(self.X), result["probabilities"],
                                   rtol=1e-6)
        self.assert_shuts_down_cleanly(worker)

    def test_a_native_xgboost_booster_answers_fp32_predictions(self):
        worker, loaded = self.loaded("booster.json", "xgboost")
        self.assertEqual([{"name": "X", "datatype": "FP32", "shape": [-1, 4], "kind": "tensor",
                           "columns": []}], loaded["signature"]["inputs"])
        self.assertEqual([-1], loaded["signature"]["outputs"][0]["shape"])
        self.assertEqual(4, loaded["metadata"]["n_features"])
        x = self.X.astype(np.float32)
        message_type, result = worker.predict(X=x)
        self.assertEqual(protocol.RESULT, message_type, result)
        self.assertEqual(np.float32, result["prediction"].dtype)
        np.testing.assert_allclose(self.booster.inplace_predict(x), result["prediction"], rtol=1e-6)
        self.assert_shuts_down_cleanly(worker)

    def test_a_torchscript_module_answers_its_output(self):
        import torch
        worker, loaded = self.loaded("linear.pt", "torchscript")
        self.assertEqual("FP32", loaded["signature"]["inputs"][0]["datatype"])
        self.assertEqual("input", loaded["signature"]["inputs"][0]["name"])
        self.assertEqual("Linear", loaded["metadata"]["estimator"])
        x = np.array([[1, 2, 3], [-1, 0, 0.5]], dtype=np.float32)
        message_type, result = worker.predict(input=x)
        self.assertEqual(protocol.RESULT, message_type, result)
        with torch.no_grad():
            expected = self.linear(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(expected, result["output"], rtol=1e-6)
        self.assert_shuts_down_cleanly(worker)

    def test_a_handler_runs_its_steps_and_reports_its_warnings(self):
        worker, loaded = self.loaded("handler.py", "handler", model_dir=self.handler_dir)
        self.assertEqual("text", loaded["signature"]["inputs"][0]["name"])
        self.assertEqual(["UserWarning: handler was trained on a newer tokenizer"],
                         loaded["warnings"])
        message_type, result = worker.predict(text=np.array([b"hi", b"hello"], dtype=object))
        self.assertEqual(protocol.RESULT, message_type, result)
        np.testing.assert_array_equal([2, 5], result["length"])
        worker.send(protocol.SHUTDOWN)
        status, out, err = worker.exit_status()
        self.assertEqual((0, ""), (status, out), err)
        self.assertIn("handler loading from stdout", err)

    # --- failures ----------------------------------------------------------------------------

    def test_a_wrong_column_count_is_an_input_error(self):
        worker, _ = self.loaded("forest.pkl", "pickle")
        message_type, error = worker.predict(X=self.X[:, :3])
        self.assertEqual(protocol.ERROR, message_type)
        self.assertEqual({"kind": "input", "detail": "",
                          "message": "X has 3 columns but the model was trained on 4"}, error)
        message_type, _ = worker.predict(X=self.X[:2])
        self.assertEqual(protocol.RESULT, message_type)
        self.assert_shuts_down_cleanly(worker)

    def test_a_model_that_raises_is_a_model_error_and_the_worker_keeps_serving(self):
        worker, loaded = self.loaded("flaky.pkl", "pickle", env_path=[self.flaky_dir])
        self.assertEqual("regressor", loaded["metadata"]["estimator_type"])
        message_type, error = worker.predict(X=np.array([[-1.0, 2.0]]))
        self.assertEqual(protocol.ERROR, message_type)
        self.assertEqual("model", error["kind"])
        self.assertEqual("ZeroDivisionError: negative values divide by zero here", error["message"])
        self.assertIn("flaky_model.py", error["detail"])
        message_type, result = worker.predict(X=np.array([[1.0, 2.0], [3.0, 4.0]]))
        self.assertEqual(protocol.RESULT, message_type, result)
        np.testing.assert_array_equal([3.0, 7.0], result["prediction"])
        self.assert_shuts_down_cleanly(worker)

    def test_a_bad_frame_magic_makes_the_worker_exit_3(self):
        worker = self.start()
        worker.conn.sendall(b"XX\x01\x07\x00\x00\x00\x00")
        status, _, err = worker.exit_status()
        self.assertEqual(3, status, err)
        self.assertIn("bad frame magic", err)

    def test_a_frame_over_the_maximum_makes_the_worker_exit_3(self):
        worker = self.start("--max-frame", "1024")
        worker.conn.sendall(protocol.HEADER.pack(b"SM", 1, protocol.LOAD, 1025))
        status, _, err = worker.exit_status()
        self.assertEqual(3, status, err)

    def test_a_corrupt_pickle_is_a_load_error_and_exit_4(self):
        worker = self.start()
        message_type, error = worker.load(self.models, "corrupt.pkl", "pickle")
        self.assertEqual(protocol.ERROR, message_type)
        self.assertEqual("load", error["kind"])
        self.assertTrue(error["message"].startswith("UnpicklingError: "), error["message"])
        status, _, err = worker.exit_status()
        self.assertEqual(4, status, err)

    def test_a_model_over_the_memory_limit_is_refused_and_exits_5(self):
        worker = self.start("--memory-limit", str(200 * 1024 * 1024))
        message_type, error = worker.load(self.models, "huge.pkl", "pickle")
        self.assertEqual(protocol.ERROR, message_type)
        self.assertEqual({"kind": "load", "detail": "",
                          "message": "the model needs more memory than its limit (200 MiB)"}, error)
        status, _, err = worker.exit_status()
        self.assertEqual(5, status, err)


if __name__ == "__main__":
    unittest.main()
