"""How an application writes ActiveJob jobs: the settings a Rails app's config decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import codec
from .encode import serialize_arguments
from .values import GlobalID

GlobalIDFor = Callable[[Any], GlobalID | None]

_WITH_ACTIVESUPPORT = {
    codec.JsonStyle.JSON_GEM: codec.JsonStyle.ACTIVESUPPORT,
    codec.JsonStyle.OJ: codec.JsonStyle.ACTIVESUPPORT_OJ,
}


@dataclass(frozen=True)
class ActiveJobSettings:
    """How this application writes ActiveJob jobs: what a Rails app's config decides.

    ``locale`` and ``timezone`` are what Rails takes from ``I18n.locale`` and
    ``Time.zone.name`` at enqueue time (the job performs in them). ``rails_version`` names
    the oldest Rails that will read the jobs: ``"6.1"`` (the default) writes the forms every
    Rails >= 6.1 reads; ``"7.0"`` allows ``RubyRange``; ``"7.1"`` writes ``enqueued_at`` with
    nanoseconds, ``scheduled_at`` and ``Decimal`` as BigDecimalSerializer; ``"7.2"`` adds
    the zone name to TimeWithZone. ``symbol_keys`` writes plain dict keys as Symbols.
    ``globalid_for`` maps an application object to its GlobalID (None: not a model);
    objects with a ``to_global_id()`` method need none. ``json_style`` is the JSON of the
    Rails processes; None takes the client's MultiJson adapter with ActiveSupport loaded
    (see :func:`rails_json_style`).
    """

    locale: str = "en"
    timezone: str = "UTC"
    rails_version: str = "6.1"
    symbol_keys: bool = False
    globalid_for: GlobalIDFor | None = None
    json_style: codec.JsonStyle | None = None

    def __post_init__(self) -> None:
        serialize_arguments((), None, rails_version=self.rails_version)  # a bad version raises
        for name in ("locale", "timezone"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"ActiveJobSettings.{name} must be a non-empty str")


def rails_json_style(style: codec.JsonStyle) -> codec.JsonStyle:
    """The JSON a Rails process writes with MultiJson adapter ``style``: every Rails app has
    ActiveSupport loaded, which escapes ``<``, ``>`` and ``&`` in strings."""
    return _WITH_ACTIVESUPPORT.get(style, style)
