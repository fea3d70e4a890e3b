"""ActiveJob through Resque, both ways: Rails jobs run by Python handlers, Rails jobs enqueued
from Python with the bytes ``perform_later`` writes.

Rails' Resque adapter enqueues every ActiveJob job as the Resque class
``ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper`` with one argument, the job data
(``job_class``, ``job_id``, ``arguments`` in ActiveJob's serialised form, ``executions``,
``locale``, ``timezone``, ``enqueued_at``...). A Python worker runs jobs by Resque class
name, so this module puts one :class:`ActiveJobBridge` in a :class:`~resque_compat.job.JobRegistry`
under that name; the bridge reads the job data, finds the Python handler registered for
``job_class`` and calls it with natural Python values::

    from resque_compat.activejob import activejob, current_job, globalid_locator

    @activejob("ArchiveJob", queue="archives")
    def archive(account, path, *, compress=False):
        log.info("job %s, attempt %d", current_job().job_id, current_job().executions)

    @globalid_locator("Account")
    def find_account(gid):
        return accounts.get(int(gid.model_id))

Job metadata is read through :func:`current_job` (a context variable) rather than an extra
argument, so a Rails keyword argument of any name reaches the handler untouched.

The other way, ``Resque.enqueue_activejob("ArchiveJob", *args, queue=..., priority=...,
**kwargs)`` enqueues the job data Rails writes (:func:`build_job_data`), wrapped as Rails'
adapter wraps it, encoded as a Rails process encodes it (ActiveSupport's JSON on top of the
client's MultiJson adapter). This package only builds that payload; the client enqueues it
through the path of every job (queue check, the bridge's enqueue hooks, Resque's ``SADD`` +
``RPUSH``), so nothing here imports the client. Values ActiveJob cannot
carry are refused before anything is sent. Defaults (locale, time zone, oldest Rails that
reads the jobs, how objects become GlobalIDs) are an :class:`ActiveJobSettings` held by
the bridge of the client's registry.

Failures are Resque failures: whatever a handler raises is recorded with the payload as
it was queued, so ``Resque::Failure.requeue`` or ``resque_compat.failure`` retries it in
whichever runtime takes it. Job data the bridge cannot read is a failure too, never a
crash: an unregistered ``job_class`` (:class:`UnknownActiveJobError`), an unknown
serializer or an unresolvable GlobalID (recorded as ``ActiveJob::DeserializationError``,
as Ruby records them), or job data that is not ActiveJob's (:class:`InvalidJobDataError`).

The package, bottom up: ``wire`` (markers, serializer names, Rails versions, time text,
errors), ``values`` (the Python types of Ruby values), ``decode`` and ``encode`` (the
``arguments`` array), ``job_data`` (the hash around them), ``settings``, ``context``
(``current_job``) and ``bridge`` (the JobWrapper job of a registry).

Arguments
---------

Rails enqueues an ActiveJob job through Resque as
``{"class": "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper", "args": [job_data]}``
(no ``wrapped`` key: Resque's adapter, unlike Sidekiq's, never writes one, in any Rails
from 6.1 to 8.1). ``job_data["arguments"]`` is the job's arguments passed through
``ActiveJob::Arguments.serialize``: JSON scalars as they are, and everything else as a
hash carrying one of ActiveJob's markers. This module reads and writes that form so that
a Python worker can perform jobs Ruby enqueued, and a Python producer can enqueue jobs a
Ruby worker performs, with the same bytes Rails would write.

Written from a reading of ``activejob/lib/active_job/arguments.rb``, ``core.rb`` and
``serializers/*.rb`` of Rails 6.1.7, 7.0.0, 7.1.0, 7.2.0, 8.0.0 and 8.1.0, and checked
against the recording ``compat_tests/reference/activejob.json`` (Rails 6.1.7).

Mapping (decoding accepts every form below whatever version wrote it; encoding writes
the form of the ``rails_version`` given, which names the *oldest* Rails that will read
the job; the default ``"6.1"`` is understood by every Rails >= 6.1):

=====================================================  ==================================
Ruby value -> wire form (Rails versions writing it)    Python value
=====================================================  ==================================
nil / true / false / Integer / Float / String          None / bool / int / float / str
Array                                                  list (tuple also encodes as one)
Hash, string keys: ``_aj_symbol_keys: []``             dict
Hash with Symbol keys: ``_aj_symbol_keys: [names]``    SymbolKeysDict (a dict with str
                                                       keys that remembers which were
                                                       Symbols); Symbol(...) keys or
                                                       ``symbol_keys=True`` on encode
HashWithIndifferentAccess: ``..._access: true``        IndifferentDict
trailing ``**kwargs`` hash: ``_aj_ruby2_keywords``     the kwargs dict of
                                                       deserialize_arguments
Symbol (SymbolSerializer, all)                         Symbol (a str)
GlobalID model ``{"_aj_globalid": "gid://..."}``       resolver(GlobalID) or GlobalID
Time (TimeSerializer, iso8601(9), all)                 RubyTime (an aware datetime)
DateTime (DateTimeSerializer, all)                     RubyDateTime (an aware datetime)
TimeWithZone (6.1-7.1: value; 7.2+: + time_zone)       TimeWithZone (an aware datetime;
                                                       tzinfo = ZoneInfo(time_zone)
                                                       when known, else fixed offset)
Date (DateSerializer, all)                             datetime.date
Duration of weeks/days/hours/minutes/seconds           RubyDuration (a timedelta that
  (DurationSerializer: value + parts, all)             keeps value and parts)
Duration with months or years                          CalendarDuration (not a
                                                       timedelta: a month is no fixed
                                                       length once added to a date)
Module / Class (ModuleSerializer, 6.1+)                RubyModule (a str: the name)
Range (RangeSerializer, 7.0+)                          RubyRange (``in``: cover?)
BigDecimal 6.1 / 7.0 (and 7.1 without                  str "1.5" (Rails itself writes a
  use_big_decimal_serializer): a JSON string           plain string; Ruby reads a String)
BigDecimal (BigDecimalSerializer, 7.1 opt-in, 7.2+)    decimal.Decimal
=====================================================  ==================================

Encoding plain Python values: an aware ``datetime`` is a Ruby ``Time``; a ``timedelta``
is ``N.seconds``; a ``Decimal`` is the plain string Rails < 7.1 writes, or the
BigDecimalSerializer form for ``rails_version >= "7.1"``; a ``RubyRange`` needs
``rails_version >= "7.0"``. Refused before anything is written
(``ActiveJobSerializationError``): naive datetimes, NaN and infinite floats (Rails would
write ``null``), sets, objects without a GlobalID, hash keys that are neither str nor
Symbol, ActiveJob's reserved keys.

Precision: Rails writes times with 9 fraction digits; ``datetime`` holds 6. The time
classes keep the 3 digits below the microsecond in ``.nanosecond`` so that re-encoding
writes Ruby's exact string; arithmetic on them gives values without those digits
(``datetime`` semantics), and comparisons ignore them. Digits past the 9th are dropped.

Stricter than Rails on purpose (``ActiveJobDeserializationError``, so that the worker
records a failure with the payload intact instead of running a job on guessed values):
a hash mixing a marker with another reserved key (Rails keeps the stray key as data),
``_aj_globalid`` that is no ``gid://`` URI (Rails passes ``nil``), an unknown time zone
name is the one leniency (the written offset is kept, where Rails raises).
"""

from __future__ import annotations

from .bridge import (
    ActiveJobBridge,
    UnknownActiveJobError,
    activejob,
    activejob_bridge,
    activejob_payload,
    configure_activejob,
    globalid_locator,
    producing_bridge,
)
from .context import ActiveJobContext, InvalidJobDataError, current_job
from .decode import deserialize_arguments
from .encode import serialize_arguments
from .job_data import (
    JobDataOptions,
    build_job_data,
    format_enqueued_at,
    parse_enqueued_at,
    wrap_job_data,
)
from .settings import ActiveJobSettings, rails_json_style
from .values import (
    CalendarDuration,
    GlobalID,
    IndifferentDict,
    RubyDateTime,
    RubyDuration,
    RubyModule,
    RubyRange,
    RubyTime,
    Symbol,
    SymbolKeysDict,
    TimeWithZone,
)
from .wire import (
    JOB_WRAPPER_CLASS,
    ActiveJobArgumentError,
    ActiveJobDeserializationError,
    ActiveJobSerializationError,
)

__all__ = [
    "JOB_WRAPPER_CLASS",
    "ActiveJobArgumentError",
    "ActiveJobBridge",
    "ActiveJobContext",
    "ActiveJobDeserializationError",
    "ActiveJobSerializationError",
    "ActiveJobSettings",
    "CalendarDuration",
    "GlobalID",
    "IndifferentDict",
    "InvalidJobDataError",
    "JobDataOptions",
    "RubyDateTime",
    "RubyDuration",
    "RubyModule",
    "RubyRange",
    "RubyTime",
    "Symbol",
    "SymbolKeysDict",
    "TimeWithZone",
    "UnknownActiveJobError",
    "activejob",
    "activejob_bridge",
    "activejob_payload",
    "build_job_data",
    "configure_activejob",
    "current_job",
    "deserialize_arguments",
    "format_enqueued_at",
    "globalid_locator",
    "parse_enqueued_at",
    "producing_bridge",
    "rails_json_style",
    "serialize_arguments",
    "wrap_job_data",
]
