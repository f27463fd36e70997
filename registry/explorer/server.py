"""Serving the explorer: on the loopback interface only, with uvicorn."""

from __future__ import annotations

import errno
import socket

import uvicorn
from fastapi import FastAPI

from registry.config import ConfigError

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8765


def bind(host: str = LOOPBACK, port: int = DEFAULT_PORT) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: any free port).

    Raises:
        ConfigError: If ``host`` is not 127.0.0.1 (the explorer is a local, unauthenticated tool), or the
            port is taken.
    """
    if host != LOOPBACK:
        raise ConfigError(f"the audit explorer listens on {LOOPBACK} only (it has no authentication), not on "
                          f"{host!r}; reach it from elsewhere through an SSH tunnel")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a TCP port (0-65535; 0 picks a free one)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {LOOPBACK} is in use: pass another --port (0 picks a free one)") from exc
        raise
    sock.listen(128)
    return sock


def serve(app: FastAPI, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM (Ctrl-C), then return."""
    host, _ = sock.getsockname()
    if host != LOOPBACK:
        raise ConfigError(f"the audit explorer serves on {LOOPBACK} only, not on {host!r}")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down gracefully, then re-raises the SIGINT it captured
        pass
    finally:
        sock.close()
