"""The worker's side of one connection: HELLO, LOAD, then PREDICTs until SHUTDOWN.

`serve` returns the process exit status; protocol violations surface as ProtocolError.
"""
import importlib.metadata
import importlib.util
import logging
import os
import platform
import traceback

from . import models, protocol
from .protocol import ProtocolError

EXIT_OK = 0
EXIT_LOAD_FAILED = 4
EXIT_OUT_OF_MEMORY = 5

# import name -> distribution name, for the versions HELLO reports.
PACKAGES = {"numpy": "numpy", "sklearn": "scikit-learn", "joblib": "joblib",
            "xgboost": "xgboost", "torch": "torch", "pandas": "pandas"}

log = logging.getLogger("serveml_worker")


def hello():
    packages = {}
    for module, distribution in PACKAGES.items():
        # Found and versioned without importing: HELLO must stay fast and inside the memory limit.
        if importlib.util.find_spec(module) is None:
            continue
        try:
            packages[module] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {"protocol": protocol.VERSION, "pid": os.getpid(),
            "python": platform.python_version(), "packages": packages}


def serve(sock, max_frame, memory_limit):
    protocol.write_json(sock, protocol.HELLO, hello())
    frame = protocol.read_frame(sock, max_frame)
    if frame is None or frame[0] == protocol.SHUTDOWN:
        return EXIT_OK
    if frame[0] != protocol.LOAD:
        raise ProtocolError(f"expected LOAD, got message type {frame[0]:#04x}")
    request = protocol.decode_json(frame[1])
    for key in ("model_dir", "model_file", "format"):
        if not isinstance(request.get(key), str):
            raise ProtocolError(f"LOAD needs a string '{key}'")

    log.info("loading %s model %s", request["format"], request["model_file"])
    try:
        model, load_warnings = models.load(request["model_dir"], request["model_file"],
                                           request["format"])
    except MemoryError:
        _send_error(sock, "load", _out_of_memory(memory_limit))
        return EXIT_OUT_OF_MEMORY
    except Exception as e:
        log.error("load failed: %s", _describe(e))
        _send_error(sock, "load", _describe(e), _short_traceback())
        return EXIT_LOAD_FAILED
    for w in load_warnings:
        log.warning("while loading: %s", w)
    protocol.write_json(sock, protocol.LOADED, {"signature": model.signature,
                                                "metadata": model.metadata,
                                                "warnings": load_warnings})
    log.info("loaded; serving")

    while True:
        frame = protocol.read_frame(sock, max_frame)
        if frame is None or frame[0] == protocol.SHUTDOWN:
            return EXIT_OK
        if frame[0] != protocol.PREDICT:
            raise ProtocolError(f"expected PREDICT or SHUTDOWN, got message type {frame[0]:#04x}")
        try:
            inputs = protocol.decode_tensors(frame[1])
            answer = _predict(sock, model, inputs, max_frame)
        except MemoryError:
            _send_error(sock, "model", _out_of_memory(memory_limit))
            return EXIT_OUT_OF_MEMORY
        if answer is not None:
            protocol.write_frame(sock, protocol.RESULT, answer)


def _predict(sock, model, inputs, max_frame):
    """Runs one prediction; returns the RESULT payload, or None after sending an ERROR."""
    try:
        outputs = model.predict(inputs)
    except models.InputError as e:
        _send_error(sock, "input", str(e))
        return None
    except MemoryError:
        raise
    except Exception as e:
        log.warning("the model raised %s", _describe(e))
        _send_error(sock, "model", _describe(e), _short_traceback())
        return None
    try:
        payload = protocol.encode_tensors(outputs)
    except protocol.PayloadError as e:
        _send_error(sock, "model", f"the model's answer cannot be sent: {e}")
        return None
    if len(payload) > max_frame:
        _send_error(sock, "model", f"the answer is {len(payload)} bytes, over the maximum frame "
                                   f"size of {max_frame}")
        return None
    return payload


def _send_error(sock, kind, message, detail=""):
    protocol.write_json(sock, protocol.ERROR, {"kind": kind, "message": message, "detail": detail})


def _describe(e):
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _out_of_memory(memory_limit):
    if memory_limit:
        return f"the model needs more memory than its limit ({memory_limit // (1024 * 1024)} MiB)"
    return "the model ran out of memory"


def _short_traceback(limit=5):
    """The innermost frames of the exception being handled, for ERROR.detail."""
    return "".join(traceback.format_exc(limit=-limit)).strip()
