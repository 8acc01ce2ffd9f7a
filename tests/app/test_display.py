"""``masklet open`` checks Qt's X11 libraries and the display before Qt can abort the process."""
from __future__ import annotations

import pytest

from app.cli import main
from app.gui import display


def test_which_platform_uses_xcb() -> None:
    assert display.uses_xcb({}) == display.sys.platform.startswith("linux")
    assert not display.uses_xcb({"QT_QPA_PLATFORM": "offscreen"})
    assert not display.uses_xcb({"WAYLAND_DISPLAY": "wayland-0"})
    assert display.uses_xcb({"QT_QPA_PLATFORM": "xcb:display=:1"}) == display.uses_xcb({})


@pytest.fixture
def linux_x11(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(display.sys, "platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")


def _without(*libraries: str):
    def cdll(name: str):
        if name.endswith("libqxcb.so") and libraries:
            raise OSError(f"{libraries[0]}: cannot open shared object file: No such file or directory")
        if name in libraries:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        return object()

    return cdll


def test_missing_xcb_libraries_are_named_with_their_packages(
    linux_x11: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(display.ctypes, "CDLL", _without("libxcb-cursor.so.0", "libxcb-icccm.so.4"))
    assert main(["open"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in err and "apt-get install libxcb-cursor0 libxcb-icccm4 (" in err


def test_no_display_is_one_line(linux_x11: None, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(display.ctypes, "CDLL", _without())
    monkeypatch.delenv("DISPLAY")
    assert main(["open"]) == 2
    assert "DISPLAY is not set" in capsys.readouterr().err


def test_this_machines_libraries_are_probed_for_real() -> None:
    """The real plugin loads exactly when every library the map knows of is present (the map is complete)."""
    try:
        display.ctypes.CDLL(str(display.xcb_plugin()))
        plugin_loads = True
    except OSError:
        plugin_loads = False
    missing = [library for library in display.XCB_PACKAGES if not display._loads(library)]
    assert plugin_loads == (not missing)
