#!/usr/bin/python3
"""Builds examples/iris.onnx: RandomForestClassifier(n_estimators=10, random_state=0) trained on
sklearn's bundled iris, exported by hand as an ai.onnx.ml TreeEnsembleClassifier.

  in:  X FLOAT [N,4]                     (sepal length, sepal width, petal length, petal width)
  out: label INT64 [N], probabilities FLOAT [N,3]   (classes 0=setosa, 1=versicolor, 2=virginica)

Self-contained (the test fixtures import its converter, not the other way). Needs Debian's python3-onnx, python3-sklearn,
python3-numpy. Usage: /usr/bin/python3 make_example.py [OUT_DIR]   (default: this script's folder)
"""
import os, sys
import numpy as np
import onnx
from onnx import helper, TensorProto
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier


def forest_nodes(rf, label, probs):
    """sklearn forest -> TreeEnsembleClassifier node with outputs (label, probs), and the class
    labels. sklearn compares float32(x) <= float64 threshold; ONNX keeps float32 thresholds, so
    each is stored as the largest float32 <= sklearn's threshold (exact for float32 inputs).
    The one copy of the converter: the server's test fixtures (make_fixtures.py) import it."""
    a = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values",
                         "nodes_modes", "nodes_truenodeids", "nodes_falsenodeids",
                         "class_treeids", "class_nodeids", "class_ids", "class_weights"]}
    n_trees = len(rf.estimators_)
    for t, est in enumerate(rf.estimators_):
        tr = est.tree_
        for n in range(tr.node_count):
            leaf = tr.children_left[n] == -1
            th = np.float32(tr.threshold[n])
            if float(th) > tr.threshold[n]:
                th = np.nextafter(th, np.float32(-np.inf))
            a["nodes_treeids"].append(t); a["nodes_nodeids"].append(n)
            a["nodes_featureids"].append(0 if leaf else int(tr.feature[n]))
            a["nodes_values"].append(0.0 if leaf else float(th))
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            a["nodes_truenodeids"].append(0 if leaf else int(tr.children_left[n]))
            a["nodes_falsenodeids"].append(0 if leaf else int(tr.children_right[n]))
            if leaf:
                v = tr.value[n][0] / tr.value[n][0].sum()
                for ci, w in enumerate(v):
                    a["class_treeids"].append(t); a["class_nodeids"].append(n)
                    a["class_ids"].append(ci); a["class_weights"].append(float(w) / n_trees)
    classes = [int(c) for c in rf.classes_]
    node = helper.make_node("TreeEnsembleClassifier", ["X"], [label, probs],
                            domain="ai.onnx.ml", classlabels_int64s=classes,
                            post_transform="NONE", **a)
    return node, classes


def forest_to_onnx(rf, n_features, graph="iris_forest", producer="serveml-example"):
    """sklearn forest -> a checked model of one TreeEnsembleClassifier (see forest_nodes)."""
    node, classes = forest_nodes(rf, "label", "probabilities")
    g = helper.make_graph([node], graph,
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", n_features])],
                          [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
                           helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                                         ["N", len(classes)])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("ai.onnx.ml", 1)],
                          producer_name=producer)
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    iris = load_iris()
    rf = RandomForestClassifier(n_estimators=10, random_state=0).fit(iris.data, iris.target)
    path = os.path.join(out, "iris.onnx")
    onnx.save(forest_to_onnx(rf, 4), path)
    print("wrote", path)
