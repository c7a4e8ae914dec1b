"""A database as the commands use it: opened here, or asked through the `utmost serve` holding it.

DuckDB lets one process open a file to write, and no other process open it at all meanwhile:
with the server running, every command and the Python API would stop at DuckDB's lock. So
`utmost serve` writes ``DB.serving`` beside the database (:class:`Handoff`: its address, its PID
and a random local credential, readable by its owner only) and removes it when it stops. A
command that finds the file held by the process that file names sends its operation there
instead (:meth:`Database.run`); the server runs the same function on its own open store
(``POST /local/NAME``, :func:`prepare_operation`). The function and the store are the same, so is
the answer, and a command prints the same bytes either way; an import goes through the
server's writer, with its numbering and its duplicate checks.

An operation is a function of an open store and keywords (:func:`operation` declares it).
What crosses the connection is msgpack, tables inside as Arrow IPC streams, decoded by the
function's own type hints: msgspec checks every argument the server receives. A ``progress``
keyword is the one that does not cross: the server calls its own, which sends a frame the
client hands to the caller's (an import through the server shows the same progress bar).
The answer is a series of frames, each a length, a tag and msgpack (:data:`PROGRESS_FRAME`,
:data:`VALUE_FRAME`, :data:`ERROR_FRAME`), so that progress can come before the value.

A file held by anything else stays an error that names the holder
(:class:`~utmost.errors.DatabaseHeldError`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hmac
import http.client
import json
import os
import secrets
import ssl
import struct
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, get_type_hints
from urllib.parse import urlsplit

import msgspec
import pyarrow as pa

from utmost import engine
from utmost.backends import Backend, DuckDBBackend, SparkBackend, spark_session
from utmost.engine import (
    ESTIMATE_COLUMNS,
    Channels,
    Deleted,
    Evaluation,
    Experiment,
    Journey,
    Options,
    Report,
    Result,
    Truth,
    channels_from,
    check_question,
    default_channels,
    delete_person,
    estimates,
    evaluation_options,
    experiments_of,
    make_options,
)
from utmost.errors import DatabaseHeldError, InputError, ProjectError, UtmostError
from utmost.ingest import Layout
from utmost.store import (
    CsvReport,
    Exported,
    ImportReport,
    Project,
    ServiceAccount,
    SpendReport,
    Store,
    default_path,
    experiment_files,
    import_experiments,
    import_files,
    import_spend,
    spend_files,
)

P = ParamSpec("P")
T = TypeVar("T")

#: Every operation by name: what ``POST /local/NAME`` may run.
OPERATIONS: dict[str, Callable[..., Any]] = {}
#: The suffix of the file a running `utmost serve` keeps beside its database.
HANDOFF_SUFFIX = ".serving"
#: The header that names the kind of a refused operation's error, so the caller raises its kind.
ERROR_KIND = "X-Utmost-Error"
#: The keyword of an operation that is a callback, called with (bytes done, events) as it goes.
PROGRESS = "progress"
#: The tags of the frames of an answer: progress so far, the value, or the error that ended it.
PROGRESS_FRAME, VALUE_FRAME, ERROR_FRAME = b"p", b"v", b"e"
_LENGTH = struct.Struct(">I")
_KINDS: dict[str, type[UtmostError]] = {"InputError": InputError, "ProjectError": ProjectError,
                                        "UtmostError": UtmostError}


def operation(function: Callable[Concatenate[Store, P], T]) -> Callable[Concatenate[Store, P], T]:
    """Declare ``function(store, *, …)`` an operation that a command may run where the file is."""
    if function.__code__.co_argcount != 1:
        raise TypeError(f"{function.__name__}: an operation takes the store, then keywords only")
    OPERATIONS[function.__name__] = function
    return function


# The operations


def _checked(backend: Backend, options: Options, work: Callable[[Backend], T]) -> T:
    """Check the question against the data, then do ``work`` on the backend, and close it."""
    try:
        check_question(backend, options)
        return work(backend)
    finally:
        backend.close()


def answer(store: Store, options: Options, per_conversion: bool = True) -> Result:
    """Answer a question on the store's DuckDB backend (with the project's channel rules)."""
    options = with_project_settings(store, options)
    return _checked(DuckDBBackend.of(store), options, lambda b: engine.attribute(b, options, per_conversion))


def answer_on_spark(options: Options, events: str | os.PathLike[str], master: str | None = None,
                    conf: dict[str, str] | None = None, per_conversion: bool = True) -> Result:
    """The same question on Spark, over Parquet written by ``utmost export --parquet``; ``conf``
    holds Spark settings (``spark.driver.memory``, …) for the session. Without
    ``per_conversion`` no per-conversion row is collected to the driver: they grow with the
    events, the totals do not."""
    return _checked(SparkBackend(spark_session(master, conf), str(events)), options,
                    lambda b: engine.attribute(b, options, per_conversion))


def campaign_report(store: Store, options: Options) -> Report:
    """The campaign report of ``options`` (a ``report`` question), on the store's DuckDB backend."""
    options = with_project_settings(store, options)
    return _checked(DuckDBBackend.of(store), options, lambda b: engine.report(b, options))


def follow(store: Store, options: Options, any_id: str) -> Journey:
    """One person's journey, on the store's DuckDB backend (with the project's channel rules)."""
    options = with_project_settings(store, options)
    return _checked(DuckDBBackend.of(store), options, lambda b: engine.journey(b, options, any_id))


def with_project_settings(store: Store, options: Options) -> Options:
    """``options`` with what its project keeps beside its events: its channel rules (its own,
    from ``utmost channels --rules``, before GA4's, or GA4's) and, when ``incremental`` is asked
    for, its holdout experiments (docs/semantics.md §19). Every question on a store is made so
    (here, and by the web service)."""
    own = store.channel_rules(options.project)
    channels = _channels(*own) if own is not None else default_channels()
    experiments: tuple[Experiment, ...] = ()
    if any(m.name == "incremental" for m in options.models):
        experiments = tuple(experiments_of(store.experiments(options.project).to_pylist()))
    if channels == options.channels and experiments == options.experiments:
        return options
    return dataclasses.replace(options, channels=channels, experiments=experiments)


@functools.lru_cache(maxsize=64)
def _channels(name: str, text: str) -> Channels:
    return channels_from(text, name)


@dataclass(frozen=True)
class ProjectChannels:
    """The rules in effect for a project, and the file they came from (None: GA4's alone)."""

    project: str
    name: str | None
    text: str | None


@operation
def project_channels(store: Store, *, project: str) -> ProjectChannels:
    found = store.project(project).name
    own = store.channel_rules(found)
    return ProjectChannels(found, *own) if own is not None else ProjectChannels(found, None, None)


@operation
def set_project_channels(store: Store, *, project: str, name: str | None, text: str | None) -> ProjectChannels:
    """Keep ``text`` (the rules file ``name``) as the project's rules, checked first; None: GA4's alone."""
    found = store.project(project).name
    if text is not None:
        channels_from(text, name or "rules")  # InputError as FILE:LINE: reason
    store.set_channel_rules(found, (name or "rules", text) if text is not None else None)
    return project_channels(store, project=found)


@dataclass(frozen=True)
class Answer:
    """A :class:`~utmost.engine.Result` without its options, which the asker made itself."""

    totals: pa.Table
    per_conversion: pa.Table
    conversions: int
    converted_without_touchpoints: int
    explanation: dict[str, Any]

    def result(self, options: Options) -> Result:
        return Result(self.totals, self.per_conversion, options, self.conversions,
                      self.converted_without_touchpoints, self.explanation)


@operation
def attribution(store: Store, *, question: dict[str, Any], per_conversion: bool) -> Answer:
    """``question``: :func:`~utmost.engine.make_options`' keywords, as the asker gave them."""
    options = make_options(**question)
    store.project(options.project)
    result = answer(store, options, per_conversion)
    return Answer(result.totals, result.per_conversion, result.conversions, result.converted_without_touchpoints,
                  result.explanation)


@operation
def report(store: Store, *, question: dict[str, Any]) -> Report:
    """``question``: :func:`~utmost.engine.make_options`' keywords for a ``report`` question."""
    options = make_options(**{**question, "question": engine.REPORT})
    store.project(options.project)
    return campaign_report(store, options)


@operation
def evaluation(store: Store, *, truth: Truth, question: dict[str, Any]) -> Evaluation:
    """Score the models of ``question`` (:func:`~utmost.engine.evaluation_options`' keywords,
    ``project`` and ``where``, the truth file's name, among them) against ``truth``."""
    options = evaluation_options(truth, **question)
    store.project(options.project)
    options = with_project_settings(store, options)
    return _checked(DuckDBBackend.of(store), options, lambda b: engine.evaluate(b, options, truth))


@operation
def journey(store: Store, *, question: dict[str, Any], any_id: str) -> Journey:
    options = make_options(**question)
    store.project(options.project)
    return follow(store, options, any_id)


@dataclass(frozen=True)
class Imported:
    project: Project
    created: bool  # the import made the project
    report: ImportReport


@operation
def import_events(
    store: Store, *, project: str, paths: list[str], strict: bool, folder: str,
    progress: Callable[[int, int], None] | None = None,
) -> Imported:
    """Import ``paths`` (relative ones in ``folder``, where the command was typed)."""
    found, created = store.open_project(project)
    report = import_files(store, found.name, paths, strict=strict, folder=folder, progress=progress)
    return Imported(found, created, report)


@operation
def keep_derived(store: Store, *, project: str) -> int:
    """Bring the project's identity and sessions up to date with its events
    (:mod:`utmost.engine.maintained`), as an import ends: how many events they took in."""
    from utmost.backends import DuckDBBackend
    from utmost.engine import IMPORT_MEMORY, keep_up

    refreshed = keep_up(DuckDBBackend.of(store), store.project(project).name, IMPORT_MEMORY)
    return refreshed.events if refreshed is not None else 0


@dataclass(frozen=True)
class SpendImported:
    project: Project
    created: bool  # the import made the project
    report: SpendReport


@operation
def import_spend_files(
    store: Store, *, project: str, paths: list[str], folder: str, columns: str | None,
    renames: dict[str, str], constants: dict[str, str], strict: bool,
) -> SpendImported:
    """Import spend files ``paths`` (relative ones in ``folder``) read through ``columns`` (a
    preset), ``renames`` (column → field) and ``constants`` (field → value)."""
    layout = Layout.of(columns, renames, constants)
    files = spend_files(paths, folder)  # a mistyped path is said before a project is made
    found, created = store.open_project(project)
    return SpendImported(found, created, import_spend(store, found.name, files, layout, strict=strict))


@operation
def stored_spend(store: Store, *, project: str) -> pa.Table:
    """The project's spend rows (date, utm_source, utm_medium, utm_campaign, cost, currency)."""
    return store.spend(store.project(project).name)


@operation
def spend_totals(store: Store, *, project: str) -> pa.Table:
    """The project's spend per (utm_source, utm_medium, utm_campaign)."""
    return store.spend_totals(store.project(project).name)


@dataclass(frozen=True)
class ExperimentsImported:
    project: Project
    created: bool  # the import made the project
    report: CsvReport


@operation
def import_experiment_files(
    store: Store, *, project: str, paths: list[str], folder: str, strict: bool,
) -> ExperimentsImported:
    """Import the holdout tests of ``paths`` (relative ones in ``folder``)."""
    files = experiment_files(paths, folder)  # a mistyped path is said before a project is made
    found, created = store.open_project(project)
    return ExperimentsImported(found, created, import_experiments(store, found.name, files, strict=strict))


#: The types of :func:`stored_experiments`' columns: :data:`~utmost.engine.ESTIMATE_COLUMNS`, then
#: when each was imported.
EXPERIMENTS_SCHEMA = pa.schema([
    ("properties", pa.list_(pa.string())), ("key", pa.list_(pa.string())), ("start", pa.date32()),
    ("end", pa.date32()), ("test_persons", pa.int64()), ("test_conversions", pa.int64()),
    ("control_persons", pa.int64()), ("control_conversions", pa.int64()), ("test_rate", pa.float64()),
    ("control_rate", pa.float64()), ("incremental", pa.float64()), ("standard_error", pa.float64()),
    ("incremental_low", pa.float64()), ("incremental_high", pa.float64()), ("relative_lift", pa.float64()),
    ("large_enough", pa.bool_()), ("imported_at", pa.timestamp("us")),
])
assert tuple(EXPERIMENTS_SCHEMA.names) == (*ESTIMATE_COLUMNS, "imported_at")


@operation
def stored_experiments(store: Store, *, project: str) -> pa.Table:
    """The project's experiments, each with what it estimates (docs/semantics.md §19): the
    columns of :data:`EXPERIMENTS_SCHEMA`, by key properties, key, then days."""
    stored = store.experiments(store.project(project).name).to_pylist()
    rows = [{**estimate, "imported_at": row["imported_at"]}
            for estimate, row in zip(estimates(experiments_of(stored)), stored)]
    return pa.Table.from_pylist(rows, schema=EXPERIMENTS_SCHEMA)


@operation
def delete_experiments(store: Store, *, project: str, key: dict[str, str] | None) -> int:
    """Delete the project's experiments of exactly ``key`` (property → value, whatever their
    days), or all of them (None): how many."""
    return store.delete_experiments(store.project(project).name, key)


@operation
def export_events(store: Store, *, project: str, destination: str) -> Exported:
    """Bring ``destination`` (a folder the caller made absolute, or a URL) up to date with the
    project's events as Parquet by date: the dates that changed since the last export there."""
    return store.export_parquet(store.project(project).name, destination)


@operation
def delete_person_of(store: Store, *, project: str, any_id: str) -> Deleted:
    return delete_person(store, store.project(project).name, any_id)


@operation
def create_project(
    store: Store, *, name: str, token: str | None, secret: str | None, mixpanel_id: str | None
) -> Project:
    return store.create_project(name, token, secret, mixpanel_id)


@operation
def set_mixpanel_id(store: Store, *, name: str, mixpanel_id: str) -> Project:
    return store.set_mixpanel_id(name, mixpanel_id)


@operation
def key_events(store: Store, *, name: str) -> list[str]:
    """The project's key events (docs/semantics.md §21)."""
    return store.key_events(store.project(name).name)


@operation
def set_key_events(store: Store, *, name: str, events: list[str]) -> list[str]:
    """Make ``events`` the project's key events and keep their credit (built now, from the
    derived tables brought up to date): the key events as they now are."""
    found = store.project(name).name
    if any(not event for event in events):
        raise InputError("--key-event: name an event (an empty name is no event)")
    store.set_key_events(found, events)
    keep_derived(store, project=found)
    return store.key_events(found)


@operation
def rotate_secret(store: Store, *, name: str) -> Project:
    return store.rotate_secret(name)


@operation
def find_project(store: Store, *, name: str) -> Project:
    return store.project(name)


@operation
def list_projects(store: Store) -> list[Project]:
    return store.projects()


@operation
def create_service_account(
    store: Store, *, project: str, username: str | None, secret: str | None
) -> tuple[Project, ServiceAccount]:
    found = store.project(project)
    return found, store.create_service_account(found.name, username, secret)


# Where an operation runs


class Database:
    """An open database here (``store``), or the `utmost serve` that holds it (``server``)."""

    def __init__(self, path: Path, store: Store | None = None, server: ServerClient | None = None) -> None:
        self.path = path
        self.store = store
        self.server = server

    def run(self, operation: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``operation(store, **kwargs)``, here or in the server."""
        if self.store is not None:
            return operation(self.store, *args, **kwargs)
        assert self.server is not None and not args, "operations take keywords only"
        return self.server.call(operation, kwargs)


@contextlib.contextmanager
def opened(
    db: str | os.PathLike[str] | None = None, *, read_only: bool = False, create: bool = True
) -> Iterator[Database]:
    """The database at ``db`` (the default's if None), opened as :class:`~utmost.store.Store`
    opens it; if a running `utmost serve` holds it, that server."""
    path = Path(db or default_path())
    try:
        store = Store(path, read_only=read_only, create=create)
    except DatabaseHeldError as held:
        server = ServerClient.of(path, held.pid)
        if server is None:
            raise
    else:
        with store:
            yield Database(path, store=store)
        return
    yield Database(path, server=server)


# The file beside the database, and the connection


@dataclass(frozen=True)
class Handoff:
    """What ``DB.serving`` holds: where the server listens, who it is, the credential it takes."""

    url: str
    pid: int
    credential: str
    cert: str | None = None  # the server's certificate (HTTPS): the only one the client trusts

    @staticmethod
    def path(database: Path) -> Path:
        return database.with_name(database.name + HANDOFF_SUFFIX)

    @classmethod
    def read(cls, database: Path) -> Handoff | None:
        """The file's content; None if there is none, or it is not to be believed: unreadable,
        or not this user's alone (in a folder others may write to, someone else could have put
        it there to be sent this user's commands)."""
        try:
            with open(cls.path(database), "rb") as file:
                mode = os.fstat(file.fileno())
                if mode.st_uid != os.geteuid() or mode.st_mode & 0o077:
                    return None
                return msgspec.json.decode(file.read(), type=cls)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return None

    @classmethod
    def new(cls, scheme: str, host: str, port: int, cert: str | None) -> Handoff:
        """For this process, serving on ``host:port``, with a new credential."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # reached on loopback
        where = f"[{host}]" if ":" in host else host
        return cls(f"{scheme}://{where}:{port}", os.getpid(), secrets.token_urlsafe(32),
                   str(Path(cert).resolve()) if cert else None)

    @contextlib.contextmanager
    def kept(self, database: Path) -> Iterator[None]:
        """Write the file beside ``database``, owner-only, and remove it on exit.

        An old file (of a server that was killed) is replaced: whoever serves holds the database.
        """
        target = self.path(database)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(asdict(self), file)
        os.replace(partial, target)
        try:
            yield
        finally:
            if self.read(database) == self:  # not one a later server wrote
                target.unlink(missing_ok=True)

    def accepts(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries this credential."""
        scheme, _, given = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), self.credential.encode())


class ServerClient:
    """The `utmost serve` named in a database's ``.serving`` file, asked over HTTP."""

    def __init__(self, path: Path, handoff: Handoff) -> None:
        self.path = path
        self.handoff = handoff

    @classmethod
    def of(cls, path: Path, holder: int) -> ServerClient | None:
        """The server holding ``path``, if the process holding it (``holder``) is one."""
        handoff = Handoff.read(path)
        return cls(path, handoff) if handoff is not None and handoff.pid == holder else None

    def call(self, operation: Callable[..., T], arguments: dict[str, Any]) -> T:
        """Run ``operation`` in the server; raise what it raised, as its kind of error."""
        progress = arguments.pop(PROGRESS, None)
        body = msgspec.msgpack.encode(arguments, enc_hook=_encode)
        with self._connection() as connection:
            response = self._post(connection, f"/local/{operation.__name__}", body)
            if response.status != 200:
                self._refused(response.status, response.getheader(ERROR_KIND), response.read())
            while True:
                tag, data = self._frame(response)
                if tag == PROGRESS_FRAME:
                    if progress is not None:
                        progress(*msgspec.msgpack.decode(data, type=tuple[int, int]))
                elif tag == VALUE_FRAME:
                    return msgspec.msgpack.decode(data, type=get_type_hints(operation)["return"], dec_hook=_decode)
                else:
                    error = msgspec.msgpack.decode(data, type=dict[str, str])
                    raise _KINDS.get(error.get("kind", ""), UtmostError)(error.get("message", "?"))

    def _refused(self, status: int, kind: str | None, data: bytes) -> None:
        try:
            message = json.loads(data)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = data[:200].decode(errors="replace")
        if kind in _KINDS:
            raise _KINDS[kind](message)
        raise UtmostError(f"{self.path} is held by utmost serve (PID {self.handoff.pid}), which refused"
                          f" the command at {self.handoff.url}: {status} {message}")

    @contextlib.contextmanager
    def _connection(self) -> Iterator[http.client.HTTPConnection]:
        parts = urlsplit(self.handoff.url)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=self._tls())
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        try:
            yield connection
        except (OSError, http.client.HTTPException) as error:
            raise UtmostError(
                f"{self.path} is held by utmost serve (PID {self.handoff.pid}), which does not answer at"
                f" {self.handoff.url} ({error}); wait for it to start, or stop it"
            ) from None
        finally:
            connection.close()

    def _post(self, connection: http.client.HTTPConnection, target: str, body: bytes) -> http.client.HTTPResponse:
        headers = {"Authorization": f"Bearer {self.handoff.credential}", "Content-Type": "application/msgpack"}
        connection.request("POST", target, body, headers)
        return connection.getresponse()

    @staticmethod
    def _frame(response: http.client.HTTPResponse) -> tuple[bytes, bytes]:
        head = response.read(_LENGTH.size + 1)
        if len(head) < _LENGTH.size + 1:
            raise http.client.IncompleteRead(head)
        (length,) = _LENGTH.unpack(head[: _LENGTH.size])
        data = response.read(length)
        if len(data) < length:
            raise http.client.IncompleteRead(data, length - len(data))
        return head[_LENGTH.size :], data

    def _tls(self) -> ssl.SSLContext:
        """Trust the server's own certificate, and only it: the file names it, and its host name
        (a certificate for the public name, reached on loopback) is not checked."""
        context = ssl.create_default_context(cafile=self.handoff.cert)
        context.check_hostname = False
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        return context


def prepare_operation(name: str, body: bytes) -> Callable[[Store, Callable[[bytes], None]], None]:
    """What the server runs for ``POST /local/NAME``: the operation, its arguments decoded.

    Raises :class:`~utmost.errors.InputError` for an unknown operation, or arguments of the
    wrong names or types. The function returned runs it on a store and hands each frame of the
    answer to ``send``: progress as it goes, then the value or the error that ended it.
    """
    function = OPERATIONS.get(name)
    if function is None:
        raise InputError(f"no operation {name!r}; this server runs {', '.join(sorted(OPERATIONS))}")
    hints = get_type_hints(function)
    names = function.__code__.co_varnames[1 : 1 + function.__code__.co_kwonlyargcount]
    fields = [(each, hints[each]) for each in names if each != PROGRESS]
    arguments_type = msgspec.defstruct(f"{name}_arguments", fields, forbid_unknown_fields=True)
    try:
        arguments = msgspec.msgpack.decode(body, type=arguments_type, dec_hook=_decode)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise InputError(f"operation {name}: {error}") from None
    keywords = {each: getattr(arguments, each) for each, _ in fields}

    def run(store: Store, send: Callable[[bytes], None]) -> None:
        if PROGRESS in names:
            keywords[PROGRESS] = lambda done, events: send(frame(PROGRESS_FRAME, (done, events)))
        try:
            value = function(store, **keywords)
        except UtmostError as error:
            send(frame(ERROR_FRAME, {"kind": error_kind(error), "message": str(error)}))
        else:
            send(frame(VALUE_FRAME, value))

    return run


def frame(tag: bytes, value: object) -> bytes:
    """One frame of an answer: its length, its tag, ``value`` as msgpack."""
    data = msgspec.msgpack.encode(value, enc_hook=_encode)
    return _LENGTH.pack(len(data)) + tag + data


def error_kind(error: UtmostError) -> str:
    """The name of the nearest kind of ``error`` that a caller raises again (:data:`ERROR_KIND`)."""
    return next(name for name, kind in _KINDS.items() if isinstance(error, kind))


def _encode(value: Any) -> Any:
    if isinstance(value, pa.Table):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, value.schema) as writer:
            writer.write_table(value)
        return sink.getvalue().to_pybytes()
    raise NotImplementedError(f"cannot send a {type(value).__name__}")


def _decode(kind: type, value: Any) -> Any:
    if kind is pa.Table and isinstance(value, bytes):
        return pa.ipc.open_stream(value).read_all()
    raise NotImplementedError(f"cannot receive a {kind.__name__}")
