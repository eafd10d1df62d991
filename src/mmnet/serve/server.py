"""Run the application with uvicorn, with a bounded stop.

On Ctrl+C or SIGTERM uvicorn stops accepting connections, then waits for the open ones to finish; a client
following a job's events, or a slow upload, would keep the process alive for as long as it lasts (a job: up to
--job-timeout). Here the jobs are stopped first (``create_app``'s ``stop_jobs``: their event streams end with a
last event saying the server stops), and what is still open after ``shutdown_timeout_s`` is cut off (503:
``cut_off``, inside the app's request log).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

import uvicorn

from .cut_off import CUT_OFF
from .request_log import ServeLogHandler

__all__ = ["StoppingServer", "serve", "CUT_OFF"]

class StoppingServer(uvicorn.Server):
    """uvicorn's server, calling ``on_stop`` as it begins to stop, before it waits for open connections."""

    def __init__(self, config: uvicorn.Config, on_stop):
        super().__init__(config)
        self.on_stop = on_stop

    async def shutdown(self, sockets=None) -> None:
        # in a thread: it removes the folders of the jobs still waiting (many frames each), while the event loop
        # still answers the open connections (an event stream's last event)
        await asyncio.to_thread(self.on_stop)
        await super().shutdown(sockets)


def _log_to(logger: logging.Logger, stream: str, level: int) -> None:
    logger.setLevel(level)
    if not any(isinstance(h, ServeLogHandler) for h in logger.handlers):  # once, however many servers start
        logger.addHandler(ServeLogHandler(stream))


def serve(app, *, host: str, port: int, shutdown_timeout_s: float, access_log: bool = False, sock=None,
          root_path: str = "") -> bool:
    """Serve ``app`` (``create_app``'s) until Ctrl+C or SIGTERM; False when it could not start.

    mmnet's lines (``mmnet.serve``: refusals, jobs, failures) go to standard error, timestamped
    (``request_log.ServeLogHandler``); ``access_log``: one line per request on standard output too (the app's
    ``RequestLog``: client, request line, status, duration, request id; job ids and tokens left out). ``sock``: a
    socket already bound to ``host:port`` (`mmnet serve` binds it before the model loads), listened on instead of
    binding again: with port 0 the port printed is the one served. ``root_path``: the path prefix a reverse proxy
    serves the app under and strips (``root_path.check_root_path``'s form, "/mmnet"; "": none)."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=shutdown_timeout_s, root_path=root_path)
    _log_to(logging.getLogger("mmnet.serve"), "stderr", logging.INFO)
    _log_to(logging.getLogger("mmnet.figures"), "stderr", logging.INFO)  # a figure's note on missing glyphs, once
    access = logging.getLogger("mmnet.serve.access")
    access.propagate = False  # its own stream: not again on mmnet.serve's
    _log_to(access, "stdout", logging.INFO if access_log else logging.WARNING)

    server = StoppingServer(config, on_stop=app.state.stop_jobs)  # which also lets open requests be cut off
    hung_up = _stop_on_hangup(server)
    try:
        server.run(sockets=None if sock is None else [sock])
    except KeyboardInterrupt:  # a second Ctrl+C, or the signal uvicorn raises again once it stopped (as uvicorn.run)
        pass
    finally:
        hung_up()
    return server.started


def _stop_on_hangup(server: uvicorn.Server):
    """SIGHUP (a closed terminal or SSH session) stops the server as SIGTERM does: uvicorn handles SIGINT and SIGTERM
    only, and the command's own SIGHUP handler would raise inside the event loop (a traceback). Returns what to call
    once the server stopped: it puts the earlier handler back (the server then exits 0, as after SIGTERM)."""
    hup = getattr(signal, "SIGHUP", None)
    if hup is None or threading.current_thread() is not threading.main_thread():
        return lambda: None

    def hang_up(signum, frame) -> None:
        server.should_exit = True  # uvicorn's graceful stop, as on SIGTERM

    previous = signal.signal(hup, hang_up)
    return lambda: signal.signal(hup, previous)
