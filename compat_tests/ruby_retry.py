"""The Ruby snippets the resque-retry tests run with ``ruby_eval`` (written once here).

``PLUGINS`` loads ``ruby_fixtures/plugins.rb`` (the plugins and their job classes);
``SUPPRESSION`` selects the ``MultipleWithRetrySuppression`` failure backend over Redis, as a
deployment using resque-retry does; ``ONE_ATTEMPT`` is what a Ruby worker does with one job of
the ``retry`` queue: reserve, perform, ``fail`` on error.
"""

from __future__ import annotations

PLUGINS = {"COMPAT_PLUGINS": "1"}
SUPPRESSION = (
    'require "resque/failure/redis"; '
    "Resque::Failure::MultipleWithRetrySuppression.classes = [Resque::Failure::Redis]; "
    "Resque::Failure.backend = Resque::Failure::MultipleWithRetrySuppression; "
)
PERFORM = "begin; job.perform; rescue => e; job.fail(e); end; "
ONE_ATTEMPT = SUPPRESSION + 'job = Resque.reserve("retry"); ' + PERFORM + "true"
