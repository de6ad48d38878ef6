"""ServeML's Python worker: serves one model version over the protocol in PROTOCOL.md.

Only the standard library and numpy are imported up front; scikit-learn, joblib, xgboost,
torch and pandas are imported when a model needs them.
"""
