"""The exception tree: every error ChainStudio raises on purpose derives from ``ChainStudioError``.

Its message is one plain sentence meant for the user (no traceback is shown for these). Two kinds:

* **refusals** (``Refused``): something the user asked for is not done, and nothing changed. Checks that
  only ask whether it would be refused (``connect_problem``, ``rename_problem``, ``name_problem``,
  ``BudgetGuard.reserve``) return the reason as a ``str`` or ``None``; the action raises a ``Refused``
  with that same reason.
* **failures**: input that cannot be used (a broken file, a broken template) or one failed model call.

The tree: a line per class with the module that defines it (below ``chainstudio.``) and what it is for;
a level is four characters of indent. ``tests/core/test_errors.py`` checks it against the classes of the core
and the CLI, so adding, moving or renaming an error class means changing its line here.

    ChainStudioError              core.errors             the base: a sentence for the user, no traceback
    ├── Refused                   core.errors             something asked for is not done; nothing changed
    │   ├── CommandError          core.editing.rules      an edit that breaks a rule
    │   ├── RunError              core.run.context        a graph or option that cannot run
    │   ├── ProviderSetupError    core.providers.factory  settings that cannot make a provider
    │   ├── PricingError          core.run.pricing        prices that cannot be read
    │   ├── HistoryError          core.storage.history    a run the history does not hold
    │   ├── DatasetError          core.batch.dataset      a dataset or column mapping that cannot be used
    │   ├── BatchError            core.batch.store        a batch state that belongs to another batch
    │   ├── UnknownEndpoint       core.launch             a run's endpoint profile that Settings does not have
    │   └── UsageError            cli.common              a command-line flag or file that cannot be used
    ├── LoadError                 core.storage.fileformat a graph file that cannot be loaded
    ├── HistoryDamaged            core.storage.history    a run history file that is not a database, or damaged
    ├── TemplateProblem           core.graph.templating   a template that does not parse or render
    │   └── TemplateTooSlow       core.graph.templating   a render that used up its CPU budget
    ├── SchemaProblem             core.graph.schema_fields a step's output schema that is not a JSON schema
    ├── CycleError                core.graph.analysis     a graph with a cycle has no layers
    ├── ProviderError             core.providers.base     one failed model call (retryable or not)
    ├── EstimateProcessError      core.planning.estimate_process the window's estimate child died, hung or did not start
    ├── EstimateFailed            core.planning.estimate_process an estimate that failed in that child
    ├── WireClosed                core.planning.estimate_wire a pipe to or from that child closed mid-frame
    ├── ModelListError            core.providers.models   a server's model list could not be read
    ├── PatternTooSlow            core.patterns           a user's pattern that did not finish matching in time
    ├── PatternTooBig             core.patterns           a user's pattern too long or too costly to compile
    ├── SchemaCheckTooSlow        core.run.structured     an answer's check against its schema out of CPU time
    └── TooManyItems              core.run.map_step       a map's list past the items a run's maps may take

Some also derive from a built-in exception (``ValueError``, ``KeyError``, ``sqlite3.DatabaseError``) or a library's
(``regex.error``) where callers may expect one.
"""

from __future__ import annotations


class ChainStudioError(Exception):
    """Base of every error ChainStudio raises on purpose; ``str(error)`` is a sentence for the user."""


class Refused(ChainStudioError):
    """Something asked for is not done, and nothing has changed; the message says why."""
