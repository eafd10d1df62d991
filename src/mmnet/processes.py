"""Whether another process still runs, on POSIX and on Windows."""

from __future__ import annotations

import os
import sys

__all__ = ["process_alive"]

_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_STILL_ACTIVE = 259  # GetExitCodeProcess' code of a process that has not exited
_ERROR_ACCESS_DENIED = 5


def process_alive(pid: int) -> bool:
    """Whether the process ``pid`` of this host is running (one of another user counts)."""
    if sys.platform == "win32":  # os.kill(pid, 0) there sends Ctrl+C (CTRL_C_EVENT) to a console process group
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True


def _windows_process_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = ctypes.c_void_p
    kernel32.OpenProcess.argtypes = (ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32)
    kernel32.GetExitCodeProcess.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32))
    kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:  # no such process (ERROR_INVALID_PARAMETER), or one this user may not look at
        return ctypes.get_last_error() == _ERROR_ACCESS_DENIED
    try:
        code = ctypes.c_uint32()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # unknown: count it as running, so that nothing of it is removed
        return code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)

