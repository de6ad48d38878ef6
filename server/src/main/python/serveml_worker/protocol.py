"""Frames and the tensors payload of worker protocol version 1 (see PROTOCOL.md).

Everything here is pure encoding: no model code, no process control.
"""
import json
import struct

import numpy as np

MAGIC = b"SM"
VERSION = 1
HEADER = struct.Struct("<2sBBI")
DEFAULT_MAX_FRAME = 64 * 1024 * 1024

HELLO = 0x01
LOAD = 0x02
LOADED = 0x03
PREDICT = 0x04
RESULT = 0x05
ERROR = 0x06
SHUTDOWN = 0x07

# Protocol datatype names in code order: the index is the wire code.
DATATYPES = ("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32",
             "INT64", "FP16", "FP32", "FP64", "BYTES")
BYTES = 12
_NUMPY_TYPES = ("?", "<u1", "<u2", "<u4", "<u8", "<i1", "<i2", "<i4", "<i8", "<f2", "<f4", "<f8")
_CODE_BY_KIND_SIZE = {(np.dtype(t).kind, np.dtype(t).itemsize): code
                      for code, t in enumerate(_NUMPY_TYPES)}

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class ProtocolError(Exception):
    """The peer broke the framing or sent a payload that does not parse."""


class PayloadError(ValueError):
    """An array cannot be written as a protocol tensor (e.g. complex numbers, mixed objects)."""


def encode_frame(message_type, payload):
    return HEADER.pack(MAGIC, VERSION, message_type, len(payload)) + payload


def write_frame(sock, message_type, payload):
    sock.sendall(encode_frame(message_type, payload))


def write_json(sock, message_type, value):
    write_frame(sock, message_type, json.dumps(value, default=_json_default).encode("utf-8"))


def _json_default(value):
    """Lets metadata carry numpy scalars and arrays, and bytes class labels."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_frame(sock, max_frame=DEFAULT_MAX_FRAME):
    """Reads one frame; returns (type, payload), or None when the peer closed between frames."""
    header = _read_exactly(sock, HEADER.size, eof_ok=True)
    if header is None:
        return None
    magic, version, message_type, length = HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError(f"bad frame magic {magic.hex()}")
    if version != VERSION:
        raise ProtocolError(f"unsupported protocol version {version}")
    if length > max_frame:
        raise ProtocolError(f"frame of {length} bytes is over the maximum of {max_frame}")
    return message_type, _read_exactly(sock, length, eof_ok=False)


def _read_exactly(sock, n, eof_ok):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        count = sock.recv_into(view[got:], n - got)
        if count == 0:
            if got == 0 and eof_ok:
                return None
            raise ProtocolError(f"connection closed inside a frame ({got} of {n} bytes)")
        got += count
    return bytes(buf)


def decode_json(payload):
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"payload is not JSON: {e}") from None
    if not isinstance(value, dict):
        raise ProtocolError("payload is not a JSON object")
    return value


def encode_tensors(tensors):
    """Encodes a dict name -> numpy array (or anything np.asarray takes) as a tensors payload."""
    parts = [_U16.pack(len(tensors))]
    for name, value in tensors.items():
        array = np.asarray(value)
        code = datatype_code(array)
        name_bytes = name.encode("utf-8")
        parts.append(_U16.pack(len(name_bytes)))
        parts.append(name_bytes)
        parts.append(struct.pack("<BB", code, array.ndim))
        parts.append(struct.pack(f"<{array.ndim}q", *array.shape))
        data = _bytes_data(array) if code == BYTES else \
            np.ascontiguousarray(array, dtype=_NUMPY_TYPES[code]).tobytes()
        parts.append(_U64.pack(len(data)))
        parts.append(data)
    return b"".join(parts)


def datatype_code(array):
    """The wire code for a numpy array's elements; str, bytes and object arrays are BYTES."""
    dtype = array.dtype
    if dtype.kind in "OSU":
        return BYTES
    code = _CODE_BY_KIND_SIZE.get((dtype.kind, dtype.itemsize))
    if code is None:
        raise PayloadError(f"arrays of {dtype} cannot be sent as tensors")
    return code


def _bytes_data(array):
    parts = []
    for element in array.reshape(-1):
        if isinstance(element, str):
            element = element.encode("utf-8")
        elif not isinstance(element, (bytes, bytearray)):
            raise PayloadError(f"a BYTES tensor element is a {type(element).__name__}, "
                               "not str or bytes")
        parts.append(_U32.pack(len(element)))
        parts.append(bytes(element))
    return b"".join(parts)


def decode_tensors(payload):
    """Decodes a tensors payload into a dict name -> numpy array (BYTES: object array of bytes).

    Arrays are writable copies, so models may change them in place.
    """
    reader = _Reader(payload)
    tensors = {}
    for _ in range(reader.unpack(_U16)):
        name = reader.take(reader.unpack(_U16)).decode("utf-8", errors="strict")
        code, rank = reader.take(1)[0], reader.take(1)[0]
        if code >= len(DATATYPES):
            raise ProtocolError(f"tensor '{name}' has unknown datatype code {code}")
        shape = struct.unpack(f"<{rank}q", reader.take(8 * rank))
        if any(d < 0 for d in shape):
            raise ProtocolError(f"tensor '{name}' has a negative dimension {list(shape)}")
        data = reader.take(reader.unpack(_U64))
        count = _product(shape)
        if code == BYTES:
            array = _bytes_array(name, data, count).reshape(shape)
        else:
            dtype = np.dtype(_NUMPY_TYPES[code])
            if len(data) != count * dtype.itemsize:
                raise ProtocolError(f"tensor '{name}' of shape {list(shape)} has {len(data)} "
                                    f"bytes of {DATATYPES[code]} data")
            array = np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
        if name in tensors:
            raise ProtocolError(f"tensor '{name}' appears twice")
        tensors[name] = array
    if reader.remaining():
        raise ProtocolError(f"{reader.remaining()} bytes after the last tensor")
    return tensors


def _bytes_array(name, data, count):
    array = np.empty(count, dtype=object)
    reader = _Reader(data)
    for i in range(count):
        array[i] = reader.take(reader.unpack(_U32))
    if reader.remaining():
        raise ProtocolError(f"tensor '{name}' has {reader.remaining()} bytes after its elements")
    return array


def _product(shape):
    count = 1
    for d in shape:
        count *= d
    return count


class _Reader:
    def __init__(self, data):
        self._data = memoryview(data)
        self._at = 0

    def take(self, n):
        if self._at + n > len(self._data):
            raise ProtocolError("tensors payload ends early")
        chunk = bytes(self._data[self._at:self._at + n])
        self._at += n
        return chunk

    def unpack(self, fmt):
        return fmt.unpack(self.take(fmt.size))[0]

    def remaining(self):
        return len(self._data) - self._at
