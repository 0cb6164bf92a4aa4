"""From the body of ``PUT /api/devices/{id}/conditions`` to the CEM's
:class:`~flexcem.cem.home_book.OperatingConditions` (JWG1110: "the user inputs operating conditions … and time
conditions" per appliance).

The settings are read as the registered device's kind asks: a water heater's
:class:`~flexcem.model.WaterHeaterSettings`, an air conditioner's :class:`~flexcem.model.AirConditionerSettings`
(so the one's settings sent for the other are refused naming the field, never taken for the other kind). Every
refusal is a :class:`ConditionsRefused` with the ``loc`` of the field at fault (``("body", "desired_finish")``);
nothing is stored here.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from flexcem.cem.home_book import OperatingConditions
from flexcem.model import AirConditionerSettings, DeviceKind, WaterHeaterSettings
from flexcem.web.cem_models import ConditionsIn

__all__ = ["SETTINGS_BY_KIND", "ConditionsRefused", "conditions_from_body"]

SETTINGS_BY_KIND: dict[DeviceKind, type[WaterHeaterSettings] | type[AirConditionerSettings]] = {
    DeviceKind.WATER_HEATER: WaterHeaterSettings,
    DeviceKind.AIR_CONDITIONER: AirConditionerSettings,
}
"""The device kinds the CEM plans by the user's conditions, with the settings each takes."""


class ConditionsRefused(ValueError):
    """Conditions that cannot be taken; :attr:`loc` names the field at fault (``("body", "settings", …)``)."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _first_error(error: ValidationError, prefix: tuple[str, ...], model: type[BaseModel]) -> ConditionsRefused:
    """The first error of validating ``model`` at ``prefix``; a model-level error is placed at the field its
    message begins with (``desired_finish 07:00 is not after …``, ``level_percent must be above 0``)."""
    first = error.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if not loc:
        leading = message.split(" ", 1)[0]
        if leading.split(".", 1)[0] in model.model_fields:
            loc = tuple(leading.split("."))
    where = ".".join((*prefix, *loc)[1:]) or "body"
    text = message if message.startswith(where) else f"{where}: {message}"
    return ConditionsRefused((*prefix, *loc), text)


def conditions_from_body(device_id: str, kind: DeviceKind, body: ConditionsIn) -> OperatingConditions:
    """The conditions ``body`` gives for the registered device ``device_id`` of ``kind``.

    Raises :class:`ConditionsRefused` naming the field: ``path.device_id`` when the kind takes no conditions,
    ``body.device_id`` / ``body.settings.device_id`` when another device is named, ``body.settings.…`` for
    settings that do not fit the kind, ``body.desired_finish`` when it is not after ``desired_start``,
    ``body.weekly_profile`` for a water heater.
    """
    settings_type = SETTINGS_BY_KIND.get(kind)
    if settings_type is None:
        kinds = ", ".join(sorted(k.value for k in SETTINGS_BY_KIND))
        raise ConditionsRefused(
            ("path", "device_id"), f"{device_id} is a {kind.value}; operating conditions are for: {kinds}"
        )
    if body.device_id is not None and body.device_id != device_id:
        raise ConditionsRefused(("body", "device_id"), f"device_id {body.device_id!r} is not the path's {device_id!r}")
    given = body.settings.get("device_id", device_id)
    if given != device_id:
        raise ConditionsRefused(
            ("body", "settings", "device_id"), f"settings.device_id {given!r} is not the path's {device_id!r}"
        )
    try:
        settings: WaterHeaterSettings | AirConditionerSettings = settings_type.model_validate(
            {**body.settings, "device_id": device_id}
        )
    except ValidationError as error:
        refused = _first_error(error, ("body", "settings"), settings_type)
        raise ConditionsRefused(refused.loc, f"{refused} (settings for the {kind.value})") from None
    try:
        return OperatingConditions(
            device_id=device_id,
            settings=settings,
            desired_start=body.desired_start,
            desired_finish=body.desired_finish,
            weekly_profile=body.weekly_profile,
        )
    except ValidationError as error:
        raise _first_error(error, ("body",), OperatingConditions) from None
