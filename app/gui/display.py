"""Can Qt show a window here? Checked before ``QApplication`` exists, since Qt aborts the process
(no exception) when its platform plugin cannot load.

On Linux desktops Qt uses its X11 plugin (``xcb``), which links system libraries that minimal
installs lack (``libxcb-cursor0`` above all). Loading the plugin with ``ctypes`` names the first
missing library; :data:`XCB_PACKAGES` maps each to its Debian/Ubuntu package.
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

from tracker.errors import MaskletError

# shared library → Debian/Ubuntu package, for everything Qt's xcb plugin links beyond glibc.
XCB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
_MISSING = re.compile(r"([\w.+-]+\.so[\w.]*): cannot open shared object file")


def uses_xcb(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Whether Qt will try its X11 plugin: Linux, and ``QT_QPA_PLATFORM`` unset (no Wayland session) or xcb."""
    if not sys.platform.startswith("linux"):
        return False
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(";")[0].split(":")[0] == "xcb"
    return not environ.get("WAYLAND_DISPLAY")


def xcb_plugin() -> Path:
    """PySide6's X11 platform plugin."""
    import PySide6

    return Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def check_display(environ: os._Environ[str] | dict[str, str] = os.environ) -> None:
    """Raise a :class:`MaskletError` saying what to install or set when Qt's X11 plugin cannot start."""
    if not uses_xcb(environ):
        return
    plugin = xcb_plugin()
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        found = _MISSING.search(str(exc))
        if found is None:
            raise MaskletError(f"Qt's X11 platform plugin {plugin} cannot be loaded: {exc}") from exc
        library = found.group(1)
        package = XCB_PACKAGES.get(library)
        wanted = sorted({package, *XCB_PACKAGES.values()} - {None})
        what = f"{library} (package {package})" if package else library
        raise MaskletError(
            f"Qt's X11 platform plugin needs {what}, which is not installed; on Debian/Ubuntu: "
            f"sudo apt-get install {' '.join(wanted)} (see README, 'System packages')"
        ) from exc
    if not environ.get("DISPLAY"):
        raise MaskletError(
            "no X display to show the window on (DISPLAY is not set); run Masklet in a desktop session, "
            "or headless with QT_QPA_PLATFORM=offscreen"
        )
