"""Who may read what mmnet derives from a dataset (decoded face frames, optical flow, sample ids): the cache
folders mmnet makes are private to their user (0700) and the files in a private folder private too (0600), so
that a cache on a shared server does not pass licence-gated data on to every account under a umask of 022.

A folder that was there before keeps its mode. One a group shares on purpose, which is a folder with the setgid bit
(``chmod 2770``, umask 002), stays shared: its files keep the umask's group access, and the folders mmnet makes
inside it (``flow/``, ``apex/``, ``calibration/``) take its group access and sticky bit (the system passes the
setgid bit on), so that the group can use and prune them too. Accounts outside the group get nothing from the
folders and data files mmnet makes, and a folder without the setgid bit (an earlier mmnet's 0755 cache, a 1777
one) shares nothing: the folders and files mmnet makes in it are private.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from .errors import DataError

__all__ = ["make_private_folder", "keep_private", "file_mode", "write_private", "owner_and_mode", "cache_access_error",
           "PRIVATE_FOLDER", "PRIVATE_FILE"]

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def make_private_folder(folder: str | Path, inside: str | Path | None = None) -> None:
    """Make ``folder`` and each missing parent with mode 0700 (the umask may take more away); folders that exist
    keep their mode. ``inside``: the cache folder ``folder`` is in; a folder made below it in a group folder (one
    with the setgid bit) takes its parent's group access and sticky bit instead (the umask may take more away), so
    that a cache folder a group shares stays shared all through; elsewhere it is private too, without the setgid
    bit a setgid parent (a setgid ~/.cache) passes on. A file in the folder's place is left for the write into it to
    report; a folder replaced (by a link, say) before its mode is set is a DataError, and what is there now is left
    as it is."""
    folder = Path(folder)
    inside = None if inside is None or os.name == "nt" else Path(inside)
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        mode, special = PRIVATE_FOLDER, 0
        if inside is not None and inside in made.parents:
            parent = made.parent.stat().st_mode
            if parent & stat.S_ISGID:  # shared with the group on purpose: never with other users
                mode |= parent & 0o070
                special = parent & (stat.S_ISGID | stat.S_ISVTX)
        try:
            made.mkdir(mode=mode)
        except FileExistsError:
            if not made.is_dir():
                raise
            continue  # another process made it meanwhile
        if os.name != "nt":
            _set_special_bits(made, mode, special)


def _set_special_bits(made: Path, mode: int, special: int) -> None:
    """Give the folder just made (with ``mode``) the setgid and sticky bits ``special`` (mkdir may drop the sticky
    bit, and passes setgid on itself only on Linux), or, where it shares nothing (``special`` 0), take away the
    setgid bit a setgid parent passed on, by which ``file_mode`` would give its face files the group's access."""
    def wanted(has: int) -> int:
        return has | special if special else has & ~stat.S_ISGID

    if not hasattr(os, "O_NOFOLLOW") or not hasattr(os, "fchmod"):  # no race-free way there: by its path
        has = stat.S_IMODE(made.stat().st_mode)
        if wanted(has) != has:
            with contextlib.suppress(OSError):  # setgid kept from a group the user is not in: it stays group-only
                os.chmod(made, wanted(has))
        return
    # Whoever may write the parent can put a link in the folder's place after mkdir, and a chmod by path follows
    # it: the mode is set through a descriptor of what is there, opened without following a link, and only if it is
    # the folder just made, this user's with no access mkdir did not give (not a folder of theirs or an older one).
    try:
        fd = os.open(made, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:  # a link gives ELOOP or (Linux, with O_DIRECTORY) ENOTDIR: say what is there
        what = {errno.ENOTDIR: "it is not a folder now", errno.ENOENT: "it is gone"}.get(exc.errno, exc.strerror)
        raise _replaced(made, "it is a link now" if made.is_symlink() else what or str(exc)) from None
    try:
        st = os.fstat(fd)
        has = stat.S_IMODE(st.st_mode)
        if wanted(has) == has:
            return
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or has & 0o777 & ~mode:
            raise _replaced(made, f"now: {owner_and_mode(made) or 'another one'}")
        with contextlib.suppress(OSError):  # setgid kept from a group the user is not in: it stays group-only
            os.fchmod(fd, wanted(has))
    finally:
        os.close(fd)


def _replaced(made: Path, what: str) -> DataError:
    return DataError(f"The cache folder '{made}' is not the folder mmnet has just made there ({what}): someone who may "
                     f"write in '{made.parent}' replaced it, and it is left as it is. Check what it is and who may "
                     f"write in '{made.parent}', remove '{made}' and run again, or set data.cache_dir (or "
                     "$MMNET_CACHE_DIR) to a folder of your own.")


def file_mode(folder: str | Path) -> int:
    """The mode to create a face-data file with in ``folder`` (the umask takes more away): 0600, or 0660 in a group
    folder (setgid), so that no other account can open it while it is being written (a descriptor opened then
    would outlive a later chmod)."""
    if os.name == "nt":
        return 0o666
    try:
        return 0o660 if Path(folder).stat().st_mode & stat.S_ISGID else PRIVATE_FILE
    except OSError:  # no folder yet: the write says why
        return PRIVATE_FILE


def write_private(path: str | Path, data: bytes) -> None:
    """``atomic_write_bytes`` for the cache's face data: created with ``file_mode`` and checked by ``keep_private``."""
    from .utils import atomic_write_bytes

    atomic_write_bytes(path, data, check=keep_private, mode=file_mode(Path(path).parent))


def keep_private(path: str | Path) -> None:
    """Make the file ``path`` private (0600 at most) unless its folder is a group folder (one with the setgid bit),
    where it keeps the umask's group access; other users get no access to it either way. The mode is read and set
    through a descriptor of what is there, opened without following a link, as ``make_private_folder`` sets a
    folder's: a link put in the place of the temporary just written cannot turn the chmod onto another file (a
    link there is an OSError, and the writer removes its temporary)."""
    if os.name == "nt":  # no POSIX modes: access follows the folder's ACL
        return
    path = Path(path)
    keep = file_mode(path.parent)  # the one rule: what a face file may be created with there
    if not hasattr(os, "O_NOFOLLOW") or not hasattr(os, "fchmod"):  # no race-free way there: by its path
        if (mode := stat.S_IMODE(path.stat().st_mode)) & keep != mode:
            os.chmod(path, mode & keep)
        return
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        if (mode := stat.S_IMODE(os.fstat(fd).st_mode)) & keep != mode:
            os.fchmod(fd, mode & keep)
    finally:
        os.close(fd)


def owner_and_mode(path: str | Path) -> str:
    """Whose ``path`` is and its permissions, for an error about access to it: "owner alice (user 1001), mode
    drwx------"; "" where it cannot be looked at either."""
    try:
        st = Path(path).stat()
    except OSError:
        return ""
    owner = f"user {st.st_uid}"
    try:
        import pwd

        owner = f"{pwd.getpwuid(st.st_uid).pw_name} ({owner})"
    except (ImportError, KeyError):
        pass
    return f"owner {owner}, mode {stat.filemode(st.st_mode)}"


def cache_access_error(path: str | Path, exc: OSError, problem: str = "cannot be read",
                       fatal: bool = True) -> DataError:
    """The error for a cache file this user may not read, write or delete (another user's, written with umask 077,
    or in a folder of theirs that is private): whose it is, or whose folder keeps this user out, its mode, and how
    to share a cache folder. The file is never deleted for that, since its owner may be using it. ``fatal``: the
    command stops on it (so a rerun would too)."""
    path = Path(exc.filename or path)
    whose = owner_and_mode(path).replace("owner", "it belongs to", 1)
    folder = path.parent
    while not whose and folder.parent != folder:  # the folder that keeps this user out: the nearest one it can stat
        if described := owner_and_mode(folder):
            whose = f"its folder {folder} keeps you out: {described}"
        folder = folder.parent
    whose = whose or "its folder cannot be searched"
    rerun = ", and a rerun stops here again" if fatal else ""
    return DataError(f"The cache file '{path}' {problem} ({exc.strerror or exc}; {whose}); it is left as it is{rerun}. "
                     "Set data.cache_dir (or $MMNET_CACHE_DIR) to a folder of your own, or, to share one cache "
                     "folder, have every user work with umask 002 in a group folder with the setgid bit (chmod g+ws) "
                     "and have the owner of the existing files and folders open them to the group (chmod -R g+rwX, "
                     "and chmod g+s on the folders).")
