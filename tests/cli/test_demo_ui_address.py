"""`make run` (`serve --demo`) prints the web view's address beside the curls, with the demo
location in the fragment the page reads (its zone comes from get-location); not while the
web view is off."""

from __future__ import annotations

import pytest

from slotblock.cli import serving
from slotblock.service import demo


def test_the_ui_address_is_printed_beside_the_curls(capsys: pytest.CaptureFixture[str]) -> None:
    serving._print_demo("127.0.0.1", 8000, "pit-demo", web_ui=True)
    err = capsys.readouterr().err
    address = f"http://127.0.0.1:8000/ui/#location={demo.LOCATION_ID}\n"
    assert address in err
    assert err.index("curl -s 'http://127.0.0.1:8000/calendars/blocked-slots") < err.index(address)


def test_no_ui_address_while_it_is_off(capsys: pytest.CaptureFixture[str]) -> None:
    serving._print_demo("127.0.0.1", 8000, "pit-demo", web_ui=False)
    assert "/ui/" not in capsys.readouterr().err
