"""open3d, imported where it is used, with the libusb it links to brought by pip.

open3d's Linux wheels link ``libusb-1.0.so.0`` (for RealSense cameras), which a fresh Debian or
Ubuntu machine lacks. The ``libusb-package`` wheel ships that library; loading it first, under its
soname, lets the dynamic linker resolve open3d's dependency without a system package.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from types import ModuleType

from asmr_plugin.errors import MissingDependencyError

LIBUSB_SONAME = "libusb-1.0.so.0"


def preload_libusb() -> None:
    """Load the libusb of ``libusb-package`` globally when the system has none (Linux only)."""
    if not sys.platform.startswith("linux") or ctypes.util.find_library("usb-1.0"):
        return
    try:
        import libusb_package
    except ImportError:
        return
    path = libusb_package.get_library_path()
    if path is not None:
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)


@functools.cache
def open3d() -> ModuleType:
    """The open3d module; a missing library is a ``MissingDependencyError`` naming what to install."""
    preload_libusb()
    try:
        import open3d as o3d
    except ImportError as error:
        remedy = (
            "install libusb: `pip install libusb-package`, or `apt-get install libusb-1.0-0` on Debian/Ubuntu"
            if LIBUSB_SONAME in str(error)
            else "reinstall it: `pip install --force-reinstall open3d`"
        )
        raise MissingDependencyError(f"open3d (meshes, occupancy) cannot be imported: {error}; {remedy}") from None
    return o3d
