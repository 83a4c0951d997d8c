"""The control plane's clock (`/_admin/clock`): the service's "now" for every worker and
node of the database (service/clock.py), set, advanced, frozen, or back to real time."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.responses import Response

from slotblock.api.dependencies import json_response
from slotblock.core.clock import parse_duration, parse_instant, shown
from slotblock.toolkit.api.routes import TAG, Control

router = APIRouter(prefix="/_admin", tags=[TAG])


class ClockBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    now: int | str | None = Field(
        None, description="Set the time: epoch ms, or ISO 8601 with an offset (or Z)."
    )
    advance: int | str | None = Field(
        None,
        description="Move the time forward: ms, or a duration such as 90s, 15m, 2h, 7d, "
        "1d2h30m or PT2H (ISO 8601).",
    )
    freeze: bool | None = Field(
        None, description="Stop (true) or restart (false) the clock; unchanged when absent."
    )

    @field_validator("now")
    @classmethod
    def instant(cls, value: int | str | None) -> int | None:
        return None if value is None else parse_instant(value)

    @field_validator("advance")
    @classmethod
    def duration(cls, value: int | str | None) -> int | None:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def one_change(self) -> ClockBody:
        if self.now is None and self.advance is None and self.freeze is None:
            raise ValueError("must give now, advance or freeze")
        if self.now is not None and self.advance is not None:
            raise ValueError("must not give both now and advance")
        return self


@router.get("/clock", operation_id="admin-get-clock")
async def get_clock(control: Control) -> Response:
    """The service's time: `now` (epoch ms) and `nowIso`, whether a test `controlled` it,
    whether it is `frozen`, and `offsetMs` from real time."""
    return json_response(shown(await control.clock.stored(), control.clock.real()))


@router.post("/clock", operation_id="admin-set-clock")
async def set_clock(body: ClockBody, control: Control) -> Response:
    """Set the time (`now`), move it forward (`advance`), and/or stop or restart it
    (`freeze`), for every worker and node of the database, from the next request on."""
    now, advance = body.now, body.advance
    assert not isinstance(now, str) and not isinstance(advance, str)  # validated to ms
    setting = await control.clock.change(now_ms=now, advance_ms=advance, freeze=body.freeze)
    return json_response(shown(setting, control.clock.real()))


@router.delete("/clock", operation_id="admin-real-clock")
async def real_clock(control: Control) -> Response:
    """Back to real time."""
    await control.clock.release()
    return json_response(shown(None, control.clock.real()))
