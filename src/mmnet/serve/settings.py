"""The server's settings: its limits, the address it listens on, the names it answers, its access token, and
whether its attention figures test the Grad-CAM map (the deletion check)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

from .uploads import UploadLimits

__all__ = ["ServeSettings", "LOOPBACK_NAMES", "is_loopback", "server_limits", "API_VERSION"]

#: The API's version (/api/model's ``api_version``): within it, fields and error codes are only added (docs/serve.md,
#: Compatibility); a change that removes or renames one, or changes its meaning, makes it "2".
API_VERSION = "1"

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")  # a Host header keeps an IPv6 address's brackets


@dataclass(frozen=True)
class ServeSettings:
    """The server's limits. ``workers``/``queue`` apply to clips and to recordings separately."""

    max_upload_mb: float = 200.0
    workers: int = 1
    queue: int = 4
    result_ttl_s: float = 1800.0
    job_timeout_s: float = 1800.0
    max_kept: int = 500  # finished results held (in memory), oldest removed first
    max_kept_mb: float = 1024.0  # their pictures at most: a clip's ~0.1-0.2 MB, a recording's up to ~30
    host: str = "127.0.0.1"  # the address listened on
    allowed_hosts: tuple[str, ...] = ()  # more names the Host header may give (a reverse proxy's)
    allow_origins: tuple[str, ...] = ()  # origins of other pages that may call the API (serve.cors), normalised
    # every request but /api/health must bring it (serve.access); None: no login. Not in repr: never logged
    token: str | None = field(default=None, repr=False)
    # the Grad-CAM map's deletion check on every attention figure (7 more predictions each); off: results say so
    deletion_check: bool = True

    @property
    def trusted_hosts(self) -> list[str]:
        """The Host headers answered: this computer's names, the address listened on and ``allowed_hosts``;
        any on every interface (0.0.0.0, ::) unless ``allowed_hosts`` names some. Others are refused (400),
        so that a page of another site whose name resolves to this computer (DNS rebinding) reads nothing."""
        every_interface = listens_everywhere(self.host)
        if every_interface and not self.allowed_hosts:
            return ["*"]
        names = {*LOOPBACK_NAMES, *self.allowed_hosts}
        if not every_interface:
            address = listen_address(self.host)
            # as typed, and as clients write it (browsers shorten IPv6 addresses: fe80:0:0::1 is sent as [fe80::1])
            for name in {self.host.strip("[]"), str(address) if address is not None else self.host.strip("[]")}:
                names |= {name, f"[{name}]"} if ":" in name else {name}
        return sorted(names)

    @property
    def limits(self) -> UploadLimits:
        return UploadLimits(max_bytes=int(self.max_upload_mb * 2**20))


def listen_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` names, in any spelling the socket accepts ("::0", "0", "127.1"); None for a name."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if ":" in bare or not bare:
        return None
    try:  # the short IPv4 forms inet_aton reads ("0" is 0.0.0.0), which the server binds as such
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None  # a name: it may resolve to any interface


def listens_everywhere(host: str) -> bool:
    """Whether listening on ``host`` means every interface (0.0.0.0, ::, ::0, 0, or empty)."""
    address = listen_address(host)
    return host.strip("[]") == "" or (address is not None and address.is_unspecified)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, or localhost) is reachable from this computer only."""
    if host.strip("[]").lower() == "localhost":
        return True
    address = listen_address(host)
    return address is not None and address.is_loopback


def server_limits(settings: ServeSettings) -> dict:
    """The limits an API client can plan with (/api/model's ``limits``)."""
    from .jobs import POLL_S

    limits = settings.limits
    return {"max_upload_mb": settings.max_upload_mb, "max_zip_entries": limits.max_zip_entries,
            "max_unzipped_mb": limits.max_unzipped_bytes / 2**20, "max_megapixels": limits.max_pixels / 1e6,
            "job_timeout_s": settings.job_timeout_s, "result_ttl_s": settings.result_ttl_s,
            "max_results": settings.max_kept, "max_results_mb": settings.max_kept_mb, "workers": settings.workers,
            "queue": settings.queue, "poll_interval_s": POLL_S}
