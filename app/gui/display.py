"""Can Qt show a window here? Checked before ``QApplication`` exists, since Qt aborts the process
(no exception) when its platform plugin cannot load.

On Linux desktops Qt uses its X11 plugin (``xcb``), which links system libraries that minimal
installs lack (``libxcb-cursor0`` above all). Loading the plugin with ``ctypes`` tells whether one is
missing; :data:`XCB_PACKAGES` maps each library to its Debian/Ubuntu package.
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
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libfreetype.so.6": "libfreetype6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libfontconfig.so.1": "libfontconfig1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libXau.so.6": "libxau6",
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


def _loads(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def check_display(environ: os._Environ[str] | dict[str, str] = os.environ) -> None:
    """Raise a :class:`MaskletError` saying what to install or set when Qt's X11 plugin cannot start."""
    if not uses_xcb(environ):
        return
    plugin = xcb_plugin()
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        first = _MISSING.search(str(exc))
        if first is None:
            raise MaskletError(f"Qt's X11 platform plugin {plugin} cannot be loaded: {exc}") from exc
        missing = [library for library in XCB_PACKAGES if not _loads(library)] or [first.group(1)]
        packages = sorted({XCB_PACKAGES.get(library, library) for library in missing})
        raise MaskletError(
            f"Qt's X11 platform plugin needs {', '.join(missing)}, not installed; on Debian/Ubuntu: "
            f"sudo apt-get install {' '.join(packages)} (other systems: README, 'System packages')"
        ) from exc
    if not environ.get("DISPLAY"):
        raise MaskletError(
            "no X display to show the window on (DISPLAY is not set); run Masklet in a desktop session, "
            "or headless with QT_QPA_PLATFORM=offscreen"
        )
