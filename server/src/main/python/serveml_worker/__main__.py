"""Entry point: python -m serveml_worker --socket PATH [--max-frame BYTES] [--memory-limit BYTES]

Exit status: 0 after SHUTDOWN or a clean close, 3 protocol error, 4 load failure, 5 out of
memory, 1 anything else (a worker bug).
"""
import argparse
import logging
import os
import resource
import socket
import sys

EXIT_PROTOCOL = 3
EXIT_OUT_OF_MEMORY = 5
EXIT_CRASH = 1


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="serveml_worker")
    parser.add_argument("--socket", required=True, help="Unix socket the server listens on")
    parser.add_argument("--max-frame", type=int, default=64 * 1024 * 1024,
                        help="largest frame accepted, in bytes")
    parser.add_argument("--memory-limit", type=int, default=None,
                        help="address-space limit for the whole process, in bytes")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # One request at a time: one math thread is enough, and each idle BLAS thread reserves
    # address space that would count against the memory limit. The server may override these.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if args.memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory_limit, args.memory_limit))

    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format=f"serveml-worker[{os.getpid()}] %(levelname)s %(message)s")
    log = logging.getLogger("serveml_worker")
    # stdout is not ours to write; models that print must not reach it (Python or C level).
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    try:
        from . import worker
        from .protocol import ProtocolError
    except MemoryError:
        log.error("out of memory while starting (limit %s bytes)", args.memory_limit)
        return EXIT_OUT_OF_MEMORY

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(args.socket)
        status = worker.serve(sock, args.max_frame, args.memory_limit)
        log.info("exiting with status %d", status)
        return status
    except ProtocolError as e:
        log.error("protocol error: %s", e)
        return EXIT_PROTOCOL
    except OSError as e:
        log.error("connection failed: %s", e)
        return EXIT_PROTOCOL
    except Exception:
        log.exception("worker crashed")
        return EXIT_CRASH
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
