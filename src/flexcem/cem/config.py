"""The home's configuration file (``home.toml``) of the CEM service, as a pydantic model.

``load_home_config(path)`` reads and checks it; a bad file raises :class:`ConfigError` whose message names the
file, the line and the field, e.g. ``home.toml:12: devices[1].kind: Input should be 'washing_machine', …``.
Unknown fields are errors. :meth:`HomeConfig.cem_settings` turns it into the
:class:`~flexcem.cem.settings.CemSettings` of the :class:`~flexcem.cem.manager.CustomerEnergyManager`.
See ``examples/home.toml`` for every field with its unit, and ``docs/cem-service.md``.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from flexcem.cem.grid_settings import FlexPermission, GridSettings
from flexcem.cem.home_settings import HomeSettings
from flexcem.cem.settings import CemSettings
from flexcem.cem.threshold_control import PriceThresholdRule, RunWhen
from flexcem.model import (
    Address,
    DeviceKind,
    Identifier,
    PositiveDuration,
    Share,
    WeeklyTemperatureProfile,
    parse_address,
)
from flexcem.model.toml_locator import line_of
from flexcem.planner.problem import Objective, ObjectiveWeights

__all__ = [
    "BusConfig",
    "ConfigError",
    "DeviceConfig",
    "HomeConfig",
    "HttpConfig",
    "IdentityConfig",
    "LoadManagementConfig",
    "PreferencesConfig",
    "PriceThresholdConfig",
    "SiteConfig",
    "StoreConfig",
    "load_home_config",
    "parse_home_config",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IdentityConfig(_Section):
    """Who the CEM is on the SG CP: endpoint ``{domain}/{endpoint_id}`` (= certificate CN and MQTT user)."""

    domain: Identifier = Field(description="The home's bus domain (its devices live there too).")
    endpoint_id: Identifier = Field(default="cem", description="The CEM's endpoint id in the domain.")

    @property
    def address(self) -> str:
        """``{domain}/{endpoint_id}``."""
        return f"{self.domain}/{self.endpoint_id}"


class BusConfig(_Section):
    """How the CEM reaches the bus; ``--bus`` on the command line overrides ``url``."""

    url: str = Field(
        default="memory://",
        description="memory:// (in-process, with `flexcem up`), mqtt://host:port (no TLS, development) or "
        "mqtts://host:port (mutual TLS).",
    )
    pki: Path | None = Field(
        default=None, description="PKI directory made by `flexcem pki init` (CA, the CEM's certificate and key)."
    )
    ca_file: Path | None = Field(default=None, description="CA certificate (PEM), instead of pki.")
    cert_file: Path | None = Field(default=None, description="The CEM's certificate (PEM), instead of pki.")
    key_file: Path | None = Field(default=None, description="The CEM's private key (PEM), instead of pki.")
    ack_timeout_s: float = Field(default=5.0, gt=0.0, description="Wait for each delivery attempt [s].")
    retries: int = Field(default=2, ge=0, le=10, description="Further attempts of a delivery.")
    keepalive_s: float = Field(default=30.0, gt=0.0, description="MQTT keep-alive [s].")

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str) -> str:
        if not url.startswith(("memory://", "mqtt://", "mqtts://")):
            raise ValueError(f"{url!r}: the bus URL starts with memory://, mqtt:// or mqtts://")
        return url

    @model_validator(mode="after")
    def _files(self) -> Self:
        given = [name for name in ("ca_file", "cert_file", "key_file") if getattr(self, name) is not None]
        if given and len(given) != 3:
            missing = sorted({"ca_file", "cert_file", "key_file"} - set(given))
            raise ValueError(f"ca_file, cert_file and key_file go together: {', '.join(missing)} missing")
        if given and self.pki is not None:
            raise ValueError("give either pki or ca_file/cert_file/key_file, not both")
        return self


class SiteConfig(_Section):
    """The site's connection, contract and grid area."""

    timezone: str = Field(default="UTC", description="The home's time zone (IANA name, e.g. Europe/Berlin).")
    import_limit_w: float | None = Field(default=None, gt=0.0, description="Contracted import power [W].")
    export_limit_w: float | None = Field(default=None, gt=0.0, description="Most the site may feed in [W].")
    tariff_sources: tuple[Address, ...] = Field(
        default=(), description="Endpoints allowed to send tariffs and grid signals (retailer, aggregator, DSO)."
    )
    area: Identifier | None = Field(default=None, description="The grid area (traffic light).")
    meter: Address | None = Field(default=None, description="The site's smart meter endpoint.")
    currency: str = Field(default="EUR", min_length=3, max_length=3, description="Tariff currency (ISO 4217).")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name


class PreferencesConfig(_Section):
    """The user's preferences for the whole home."""

    objective: Objective = Field(default="cost", description="What plans minimise.")
    objective_weights: ObjectiveWeights | None = Field(default=None, description="Weights of 'weighted'.")
    commit_required: bool = Field(default=False, description="Plans wait for the user's commit (JWG1110).")
    sell_threshold_per_kwh: float | None = Field(
        default=None, description="Sell only above this feed-in price [currency/kWh] (story JWG13)."
    )
    battery_min_level: Share | None = Field(default=None, description="Least battery charge kept [fraction].")
    replan_interval: PositiveDuration | None = Field(
        default=None, description="Re-plan the home this often as well as on every trigger (ISO 8601, PT1H)."
    )
    heartbeat_interval: PositiveDuration = Field(
        default=timedelta(minutes=15),
        description="How often each device is expected to report; a device silent past it and the grace is asked "
        "for its status, then reported (JWG11).",
    )
    heartbeat_grace: PositiveDuration = Field(
        default=timedelta(minutes=5), description="Margin past the heartbeat interval before it counts as missed."
    )
    room_low_c: float = Field(
        default=20.0,
        ge=-20.0,
        le=120.0,
        description="Lowest room temperature a heat pump keeps in the room it serves where no room_profile piece "
        "is in force [°C].",
    )
    room_high_c: float = Field(
        default=26.0,
        ge=-20.0,
        le=120.0,
        description="Highest room temperature a heat pump keeps there [°C].",
    )
    room_profile: WeeklyTemperatureProfile | None = Field(
        default=None,
        description="The heat pump's room over the week: weekday (Mon–Fri) and weekend pieces in the site's "
        "time zone, each a set_point_c (band ±1 K) or low_c/high_c [°C]; none: [room_low_c, room_high_c].",
    )

    @field_validator("room_high_c")
    @classmethod
    def _room_band(cls, high: float, info: ValidationInfo) -> float:
        low = info.data.get("room_low_c")
        if low is not None and low > high:
            raise ValueError(f"room_high_c {high} is below room_low_c {low}")
        return high


class PriceThresholdConfig(_Section):
    """Run the device by the price of each tariff interval (JWG1111, JWG1124, story JWG16)."""

    threshold_per_kwh: float = Field(description="Price threshold [currency/kWh].")
    run_when: RunWhen = Field(default=RunWhen.ABOVE, description="above, at_or_above or below.")


class LoadManagementConfig(_Section):
    """The grid may adjust the device for load management (JWG14), for at most ``max_duration`` per event."""

    max_duration: PositiveDuration = Field(description="Longest event window [ISO 8601, e.g. PT2H].")
    comfort_range_c: float = Field(default=0.0, ge=0.0, le=10.0, description="Set-point range for the grid [K].")


class DeviceConfig(_Section):
    """A device the CEM expects, with the user's preferences for it."""

    id: Identifier = Field(description="The device's endpoint id in the home's domain.")
    kind: DeviceKind = Field(description="What the device is (its registration must say the same).")
    name: str | None = Field(default=None, max_length=80, description="What the household calls it.")
    price_threshold: PriceThresholdConfig | None = None
    load_management: LoadManagementConfig | None = Field(
        default=None, description="Allowed for load management; absent: never adjusted by the grid."
    )
    emergency_exempt: bool = Field(default=False, description="Kept on in an emergency (contract profile, JWG8).")
    weekly_profile: WeeklyTemperatureProfile | None = Field(
        default=None,
        description="Air conditioner only: its room's set point or band over the week (weekday and weekend pieces "
        "in the site's time zone) where the user's operating conditions give none; none: the set point's band.",
    )

    @field_validator("weekly_profile")
    @classmethod
    def _air_conditioner_only(
        cls, profile: WeeklyTemperatureProfile | None, info: ValidationInfo
    ) -> WeeklyTemperatureProfile | None:
        kind = info.data.get("kind")
        if profile is not None and kind is not None and kind is not DeviceKind.AIR_CONDITIONER:
            raise ValueError(f"a weekly profile is for an air conditioner's room; this device is a {kind.value}")
        return profile


class HttpConfig(_Section):
    """The household's HTTP API and dashboard."""

    listen: str | None = Field(default=None, description="HOST:PORT to serve on; absent: no HTTP API.")
    token: str | None = Field(default=None, min_length=16, description="The household's bearer token.")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, listen: str | None) -> str | None:
        if listen is not None:
            host, _, port = listen.rpartition(":")
            if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ValueError(f"{listen!r} is not HOST:PORT")
        return listen


class StoreConfig(_Section):
    """Where the CEM keeps its state."""

    path: Path = Field(default=Path("flexcem-cem.db"), description="SQLite file (relative to the config file).")


class HomeConfig(_Section):
    """The whole ``home.toml``."""

    identity: IdentityConfig
    bus: BusConfig = Field(default_factory=BusConfig)
    site: SiteConfig = Field(default_factory=SiteConfig)
    preferences: PreferencesConfig = Field(default_factory=PreferencesConfig)
    devices: tuple[DeviceConfig, ...] = ()
    http: HttpConfig = Field(default_factory=HttpConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen: set[str] = set()
        for device in self.devices:
            if device.id in seen:
                raise ValueError(f"device id {device.id!r} appears twice")
            seen.add(device.id)
        if self.preferences.objective == "weighted" and self.preferences.objective_weights is None:
            raise ValueError("preferences.objective_weights is required when objective is 'weighted'")
        for source in self.site.tariff_sources:
            parse_address(source)
        return self

    def device_address(self, device_id: str) -> str:
        """A device's endpoint address in the home's domain."""
        return f"{self.identity.domain}/{device_id}"

    def cem_settings(self) -> CemSettings:
        """The CEM's settings from this file."""
        preferences, site = self.preferences, self.site
        return CemSettings(
            site_import_limit_w=site.import_limit_w,
            site_export_limit_w=site.export_limit_w,
            objective=preferences.objective,
            objective_weights=preferences.objective_weights,
            tariff_sources=site.tariff_sources,
            timezone=site.timezone,
            commit_required=preferences.commit_required,
            price_thresholds=tuple(
                PriceThresholdRule(device_id=d.id, threshold_per_kwh=rule.threshold_per_kwh, run_when=rule.run_when)
                for d in self.devices
                if (rule := d.price_threshold) is not None
            ),
            home=HomeSettings(
                sell_threshold_per_kwh=preferences.sell_threshold_per_kwh,
                battery_min_level=preferences.battery_min_level,
                replan_interval=preferences.replan_interval,
                room_low_c=preferences.room_low_c,
                room_high_c=preferences.room_high_c,
                room_profile=preferences.room_profile,
                air_conditioner_profiles={d.id: d.weekly_profile for d in self.devices if d.weekly_profile is not None},
            ),
            grid=GridSettings(
                area=site.area,
                meter=site.meter,
                load_management=tuple(
                    FlexPermission(
                        device_id=d.id,
                        max_duration=d.load_management.max_duration,
                        comfort_range_c=d.load_management.comfort_range_c,
                    )
                    for d in self.devices
                    if d.load_management is not None
                ),
                emergency_exempt=tuple(d.id for d in self.devices if d.emergency_exempt),
                heartbeat_interval=preferences.heartbeat_interval,
                heartbeat_grace=preferences.heartbeat_grace,
            ),
        )


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file, the line and the field."""

    def __init__(self, file: str, line: int | None, field: str | None, reason: str) -> None:
        self.file, self.line, self.field, self.reason = file, line, field, reason
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


_TOML_WHERE = re.compile(r" \(at line (\d+), column (\d+)\)")


def _field_path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_home_config(text: str, file: str = "home.toml") -> HomeConfig:
    """Check the TOML ``text`` of ``file``; :class:`ConfigError` (file, line, field) when it is not right."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        where = _TOML_WHERE.search(message)
        if where is None:
            line, reason = len(text.splitlines()) or 1, message.replace(" (at end of document)", "")
            reason += " at the end of the file"
        else:
            line, reason = int(where.group(1)), f"{message[: where.start()]} at column {where.group(2)}"
        raise ConfigError(file, line, None, f"TOML syntax: {reason}") from None
    try:
        config = HomeConfig.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(part for part in first["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        field = _field_path(loc) or "(file)"
        reason = first["msg"]
        if first["type"] == "extra_forbidden":
            reason = "unknown field (not in the home configuration)"
        raise ConfigError(file, line_of(text, loc), field, reason) from None
    return config


def load_home_config(path: Path) -> HomeConfig:
    """Read ``path``; relative paths in it (store, certificates) are taken relative to the file's directory."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(str(path), None, None, f"cannot read: {error.strerror or error}") from None
    config = parse_home_config(text, path.name)

    def near(value: Path | None) -> Path | None:
        return None if value is None or value.is_absolute() else path.parent / value

    bus = {name: near(getattr(config.bus, name)) for name in ("pki", "ca_file", "cert_file", "key_file")}
    return config.model_copy(
        update={
            "store": StoreConfig(path=near(config.store.path) or config.store.path),
            "bus": config.bus.model_copy(update={k: v for k, v in bus.items() if v is not None}),
        }
    )
