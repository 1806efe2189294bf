"""The report: run the parametrised notebooks with papermill into one offline report folder.

This is the only module that knows papermill (and, only if ever needed, nbconvert).

What :func:`run_report` does, in order:

1. checks the parameters against those the notebooks declare (``papermill``'s own
   inspection of each notebook's ``parameters`` cell): an unknown name or a value
   that does not convert to the declared type is a :class:`~qsp_eval.errors.ParameterError`,
   raised before any notebook runs;
2. loads and validates the data once (:func:`qsp_eval.publish.load_dataset`, cached
   in the process so the notebooks reuse it) and checks the parameter *values*
   (:func:`qsp_eval.publish.check_settings`);
3. runs the notebooks with papermill on an engine it controls: by default the
   ``qsp-inprocess`` engine registered here, which executes every notebook's cells
   in one in-process IPython shell (no kernel, no kernel name, the scientific stack
   imported once), with a per-cell timeout; a failing cell stops the run and is
   reported as notebook + cell number + error;
4. assembles ``report.html`` (one self-contained file built from the executed
   notebooks' *published* outputs only, see :mod:`qsp_eval.publish`), ``tables.xlsx``,
   and ``manifest.json``; runs the disclosure scanner on the finished folder;
5. only then swaps the new folder into place (atomic: a failed run leaves the
   previous output intact and no half-written folder), keeping every file of the
   output folder that qsp-eval did not write (see "Output folder").

Speed
-----
The report must cost at most 4.2 times the import of the scientific stack
(``benchmarks/bench_report.py``). So: one in-process IPython shell for all the
notebooks (imports paid once, no kernel start-up; no output cache, whose flush
runs a full garbage collection at every reset); no nbconvert (the HTML is a small
Jinja template over the executed notebooks' published outputs); nbformat's JSON
schema checker is kept from building an IRI grammar it never uses; and one forked
worker process (:class:`qsp_eval.publish.FigureSaver`) draws the PNG and SVG files,
writes the ``.docx`` files, and computes the theming analysis
ahead (:func:`qsp_eval.publish.prefetch`) while the notebooks go on; meanwhile the main process
writes the workbook and scans it for disclosure.

Output folder
-------------
``report.html``; ``notebooks/NN-*.ipynb`` (executed); ``figures/*.png|svg``;
``tables/*.csv`` and ``tables/tables.xlsx``; ``writeup.fr.md``, ``writeup.en.md``
(+ ``.docx``); ``manifest.json``.

The folder is the user's: a run never deletes or overwrites a file it did not write.
The rule (checked by :func:`_check_paths` before anything runs):

- ``--out`` is used only when it does not exist, is empty, or holds a previous
  qsp-eval report, recognised by its ``manifest.json`` (written by
  :func:`write_manifest`, ``"tool": "qsp-eval report"``). A folder holding other
  files but no such manifest is refused (:class:`~qsp_eval.errors.ParameterError`,
  exit 2, nothing written);
- the files of the previous report are exactly those its manifest lists (with their
  SHA-256): only they are replaced (or removed when the new report no longer writes
  them). A listed file whose content changed since (an edited ``writeup.fr.docx``)
  is the user's now: the run is refused, naming it, rather than overwrite it;
- every other file or folder (``mes_notes.txt``, ``figures/mine.png``...) is left in
  place, never read and never published; a new report file that would take the
  place of one of them is refused the same way;
- the report's last lines say how many files of the previous report were replaced
  and how many other items were left in place; the command's output names them
  (file names are not published in the report: they are not checked by the
  disclosure control). :class:`ReportResult` has the same lists.

Atomicity: the report is built in a hidden folder beside ``--out``; only when it is
complete and clean are the user's files moved into it and the two folders swapped by
renames (:func:`_swap`). A failure at any step leaves ``--out`` exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from .errors import ParameterError, QspError
from .i18n import tr
from .io import read_binary, write_text

__all__ = [
    "NOTEBOOKS",
    "REPORT_ORDER",
    "ENGINE_NAME",
    "ParameterSpec",
    "NotebookFailed",
    "CellTimeout",
    "ReportResult",
    "notebook_dir",
    "notebook_paths",
    "declared_parameters",
    "parse_parameter_args",
    "check_parameters",
    "run_notebooks",
    "build_html",
    "write_manifest",
    "run_report",
]

#: The notebooks of the report, in execution order (file stems under ``notebooks/``).
NOTEBOOKS: tuple[str, ...] = (
    "00-data-quality",
    "01-attendance",
    "02-profiles",
    "03-theming",
    "04-services-and-surveys",
    "05-summary",
)
#: The order of the sections in ``report.html``: the coordinator's summary first.
REPORT_ORDER: tuple[str, ...] = (
    "05-summary",
    "00-data-quality",
    "01-attendance",
    "02-profiles",
    "03-theming",
    "04-services-and-surveys",
)
#: The notebook whose outputs form the summary page at the top of the report.
SUMMARY = "05-summary"
#: Name under which the in-process engine is registered with papermill.
ENGINE_NAME = "qsp-inprocess"
#: Kernel name written into executed notebooks run by the in-process engine.
KERNEL_NAME = "python3"
#: Default per-cell timeout in seconds.
DEFAULT_TIMEOUT = 600

#: Parameters the report command sets itself (a ``-p`` for them is refused).
RESERVED = ("source", "output_dir")


def _block_slow_optional_imports() -> None:
    """Keep ``jsonschema`` from importing ``rfc3987_syntax`` (~1 s to build a grammar).

    nbformat validates notebooks with jsonschema, whose optional IRI format checker
    imports that package; the notebook schema never uses the "iri" format, so the
    check is not needed. Only applied when the package is not already imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Notebooks and their parameters
# ---------------------------------------------------------------------------
def notebook_dir() -> Path:
    """Return the folder holding the report notebooks.

    ``qsp_eval/notebooks/`` when the package ships them (wheel install), else
    the repository's ``notebooks/`` folder (editable install, a clone).
    """
    here = Path(__file__).resolve().parent
    for cand in (here / "notebooks", here.parent / "notebooks"):
        if (cand / f"{NOTEBOOKS[0]}.ipynb").exists():
            return cand
    return here.parent / "notebooks"


def notebook_paths(folder=None, names=None) -> list[Path]:
    """Return the paths of the report notebooks (``names`` default :data:`NOTEBOOKS`)."""
    folder = Path(folder) if folder is not None else notebook_dir()
    names = NOTEBOOKS if names is None else names
    paths = [folder / f"{n}.ipynb" for n in names]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ParameterError(
            "Carnets introuvables : " + ", ".join(missing),
            "Notebooks not found: " + ", ".join(missing),
        )
    return paths


@dataclass(frozen=True)
class ParameterSpec:
    """A parameter declared in a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : str
    type_name : str
        The annotation (``"str"``, ``"int"``, ``"float"``, ``"bool"``) or ``"None"``.
    default : str
        The default as written in the cell (Python source).
    help : str
        The trailing comment.
    notebooks : tuple of str
        Stems of the notebooks that declare it.
    """

    name: str
    type_name: str
    default: str
    help: str
    notebooks: tuple[str, ...]


def declared_parameters(paths) -> dict[str, ParameterSpec]:
    """Return the parameters declared by the notebooks at ``paths``, by name.

    Uses ``papermill.inspect_notebook`` (the same inspection as
    ``papermill --help-notebook``). A parameter declared with different types
    in two notebooks raises :class:`~qsp_eval.errors.ParameterError`.

    Examples
    --------
    >>> # declared_parameters(notebook_paths())["lang"].type_name
    >>> # 'str'
    """
    _block_slow_optional_imports()
    import papermill

    out: dict[str, ParameterSpec] = {}
    for path in paths:
        stem = Path(path).stem
        info = papermill.inspect_notebook(str(path))
        for name, p in info.items():
            tname = str(p.get("inferred_type_name") or "None")
            prev = out.get(name)
            if prev is not None:
                if prev.type_name != tname:
                    raise ParameterError(
                        f"Le paramètre « {name} » a deux types différents ({prev.type_name}, "
                        f"{tname}) dans les carnets.",
                        f"Parameter '{name}' has two different types ({prev.type_name}, "
                        f"{tname}) in the notebooks.",
                    )
                out[name] = ParameterSpec(name, tname, prev.default, prev.help,
                                          prev.notebooks + (stem,))
            else:
                out[name] = ParameterSpec(name, tname, str(p.get("default")),
                                          str(p.get("help") or ""), (stem,))
    return out


def parse_parameter_args(items) -> dict[str, str]:
    """Parse ``-p name=value`` strings into a dict (values stay strings).

    Raises :class:`~qsp_eval.errors.ParameterError` on an item without ``=`` or
    a name given twice.

    Examples
    --------
    >>> parse_parameter_args(["min_cell=10", "period=quarter"])
    {'min_cell': '10', 'period': 'quarter'}
    """
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(
                f"Paramètre mal écrit : « {item} » (attendu : nom=valeur).",
                f"Badly written parameter: '{item}' (expected: name=value).",
            )
        if name in out:
            raise ParameterError(
                f"Le paramètre « {name} » est donné deux fois.",
                f"Parameter '{name}' is given twice.",
            )
        out[name] = value
    return out


_TRUE = {"true", "1", "yes", "oui", "vrai"}
_FALSE = {"false", "0", "no", "non", "faux"}


def _convert(name: str, value, type_name: str):
    if type_name in ("str", "None"):
        return value if isinstance(value, str) else str(value)
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    elif type_name == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            pass
    elif type_name == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip().replace(",", "."))
        except ValueError:
            pass
    else:  # an annotation we do not know: pass it as a string
        return value if isinstance(value, str) else str(value)
    raise ParameterError(
        f"Le paramètre « {name} » attend une valeur de type {type_name}, pas « {value} ».",
        f"Parameter '{name}' expects a value of type {type_name}, not '{value}'.",
    )


def check_parameters(values: dict, declared: dict[str, ParameterSpec], *,
                     reserved=RESERVED) -> dict:
    """Check parameter names and convert values to their declared types.

    Parameters
    ----------
    values : dict
        Name -> value (strings from the command line, or Python values).
    declared : dict[str, ParameterSpec]
        From :func:`declared_parameters`.
    reserved : sequence of str
        Names the caller sets itself; giving one is an error.

    Returns
    -------
    dict
        Name -> value converted to the declared type (``int``, ``float``, ``bool``, ``str``).

    Raises
    ------
    ParameterError
        Unknown name (with the closest known name), reserved name, or a value
        that does not convert (``min_cell=abc``).

    Examples
    --------
    >>> spec = {"min_cell": ParameterSpec("min_cell", "int", "0", "", ("x",))}
    >>> check_parameters({"min_cell": "10"}, spec)
    {'min_cell': 10}
    """
    import difflib

    out = {}
    for name, value in values.items():
        if name in reserved:
            raise ParameterError(
                f"Le paramètre « {name} » est fixé par la commande (utilisez l'argument "
                "ou l'option correspondante).",
                f"Parameter '{name}' is set by the command (use the matching argument or option).",
            )
        spec = declared.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, list(declared), n=1)
            hint_fr = f" Vouliez-vous dire « {close[0]} » ?" if close else ""
            hint_en = f" Did you mean '{close[0]}'?" if close else ""
            known = ", ".join(sorted(n for n in declared if n not in reserved))
            raise ParameterError(
                f"Paramètre inconnu : « {name} ».{hint_fr} Paramètres acceptés : {known}.",
                f"Unknown parameter: '{name}'.{hint_en} Accepted parameters: {known}.",
            )
        out[name] = _convert(name, value, spec.type_name)
    return out


# ---------------------------------------------------------------------------
# The in-process papermill engine
# ---------------------------------------------------------------------------
class NotebookFailed(QspError):
    """A notebook cell failed (or timed out) during the report run.

    Attributes
    ----------
    notebook : str
        Notebook file name.
    cell : int
        1-based number of the code cell in the *source* notebook (the injected
        parameters cell is not counted).
    error : BaseException or None
        The original exception, when known.
    """

    def __init__(self, notebook: str, cell: int, summary_fr: str, summary_en: str,
                 source_line: str = "", error: BaseException | None = None):
        self.notebook = notebook
        self.cell = cell
        self.error = error
        where_fr = f"Le carnet {notebook} a échoué à la cellule de code n° {cell}"
        where_en = f"Notebook {notebook} failed at code cell {cell}"
        if source_line:
            where_fr += f" (« {source_line} »)"
            where_en += f" ('{source_line}')"
        super().__init__(f"{where_fr} :\n  {summary_fr}\nAucun rapport n'a été écrit.",
                         f"{where_en}:\n  {summary_en}\nNo report was written.")


class CellTimeout(Exception):
    """A notebook cell ran longer than the per-cell timeout."""


@contextlib.contextmanager
def _alarm(seconds):
    """Raise :class:`CellTimeout` in the main thread after ``seconds`` (no-op elsewhere)."""
    usable = (seconds and hasattr(signal, "setitimer")
              and _is_main_thread())
    if not usable:
        yield
        return

    def _handler(signum, frame):
        raise CellTimeout(f"cell ran longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, _handler)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _is_main_thread() -> bool:
    """True in the main thread (where signals can be handled)."""
    import threading

    return threading.current_thread() is threading.main_thread()


_SHELL = None


def _shell():
    """Return the one private IPython shell used to run every notebook."""
    global _SHELL
    if _SHELL is None:
        import matplotlib

        matplotlib.use("Agg")
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        if InteractiveShell.initialized():
            # we are inside IPython/Jupyter: never hijack the user's shell
            raise ParameterError(
                "Le moteur en mémoire ne peut pas tourner dans une session IPython/Jupyter ; "
                "lancez « qsp-eval report » dans un terminal ou utilisez engine='kernel'.",
                "The in-process engine cannot run inside an IPython/Jupyter session; run "
                "'qsp-eval report' in a terminal or use engine='kernel'.",
            )
        cfg = Config()
        cfg.HistoryManager.enabled = False
        cfg.InteractiveShell.colors = "nocolor"
        cfg.InteractiveShell.xmode = "Plain"
        # no Out[] cache: otherwise every reset() flushes it with a full gc.collect() (~0.15 s)
        cfg.InteractiveShell.cache_size = 0
        _SHELL = InteractiveShell.instance(config=cfg)
    return _SHELL


def _output_from_bundle(nbformat, data: dict, metadata: dict | None):
    return nbformat.v4.new_output("display_data", data=dict(data), metadata=dict(metadata or {}))


class _CapturingHook:
    """Stand-in for the shell's displayhook: turns an expression's value into a rich output."""

    def __init__(self, shell, sink):
        self.shell = shell
        self.sink = sink

    def __call__(self, result=None):
        if result is None:
            return
        self.shell.user_ns["_"] = result
        data, metadata = self.shell.display_formatter.format(result)
        self.sink.append(("execute_result", data, metadata))


class _CapturingPublisher:
    """Stand-in for the shell's display publisher (``display(...)`` calls)."""

    def __init__(self, sink):
        self.sink = sink
        self.is_publishing = False

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
        self.sink.append(("display_data", data, metadata or {}))

    def clear_output(self, wait=False):
        self.sink.clear()

    def set_parent(self, parent):  # pragma: no cover - API compatibility
        pass


def _run_cell(shell, source: str, count: int, timeout):
    """Run one cell in ``shell``; return (outputs, exception or None)."""
    import io

    import nbformat

    sink: list = []
    out, err = io.StringIO(), io.StringIO()
    save = (shell.display_pub, shell.display_trap.hook, sys.stdout, sys.stderr)
    shell.display_pub = _CapturingPublisher(sink)
    shell.display_trap.hook = _CapturingHook(shell, sink)
    sys.stdout, sys.stderr = out, err
    exc = None
    try:
        with _alarm(timeout):
            result = shell.run_cell(source, store_history=False, silent=False)
        exc = result.error_before_exec or result.error_in_exec
    except CellTimeout as e:  # raised outside the cell's own try (rare)
        exc = e
    finally:
        shell.display_pub, shell.display_trap.hook, sys.stdout, sys.stderr = save
    outputs = []
    if exc is None and out.getvalue():
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=out.getvalue()))
    if exc is None and err.getvalue():
        outputs.append(nbformat.v4.new_output("stream", name="stderr", text=err.getvalue()))
    for kind, data, metadata in sink:
        if kind == "execute_result":
            outputs.append(nbformat.v4.new_output("execute_result", data=dict(data),
                                                  metadata=dict(metadata or {}),
                                                  execution_count=count))
        else:
            outputs.append(_output_from_bundle(nbformat, data, metadata))
    if exc is not None:
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        outputs.append(nbformat.v4.new_output(
            "error", ename=type(exc).__name__, evalue=str(exc), traceback=tb[-6:]))
    return outputs, exc


class _EngineState:
    """What the last in-process run failed on (read by :func:`run_notebooks`)."""

    failure: tuple[int, BaseException] | None = None


def _make_engine():
    _block_slow_optional_imports()
    from papermill.engines import Engine

    class InProcessEngine(Engine):
        """Papermill engine running cells in one in-process IPython shell (see module doc)."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, execution_timeout=None,
                                     **kwargs):
            shell = _shell()
            shell.reset(new_session=False)
            _EngineState.failure = None
            count = 0
            for index, cell in enumerate(nb_man.nb.cells):
                if cell.cell_type != "code":
                    continue
                nb_man.cell_start(cell, index)
                count += 1
                outputs, exc = _run_cell(shell, cell.source, count, execution_timeout)
                if isinstance(exc, KeyboardInterrupt):
                    raise KeyboardInterrupt  # the user stopped the run: not a notebook error
                cell.outputs = outputs
                cell.execution_count = count
                if exc is not None:
                    _EngineState.failure = (index, exc)
                    nb_man.cell_exception(cell, index)
                    nb_man.cell_complete(cell, index)
                    break
                nb_man.cell_complete(cell, index)
            shell.reset(new_session=False)

        @classmethod
        def nb_kernel_name(cls, nb, name=None):
            return KERNEL_NAME

        @classmethod
        def nb_language(cls, nb, language=None):
            return "python"

    return InProcessEngine


def _register_engine() -> None:
    _block_slow_optional_imports()
    from papermill.engines import papermill_engines

    if ENGINE_NAME not in papermill_engines._engines:
        papermill_engines.register(ENGINE_NAME, _make_engine())


def _source_cell_number(nb, index: int) -> tuple[int, str]:
    """1-based code-cell number in the source notebook and its first line."""
    n = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if "injected-parameters" in cell.metadata.get("tags", []):
            continue
        n += 1
        if i == index:
            first = next((ln.strip() for ln in cell.source.splitlines()
                          if ln.strip() and not ln.strip().startswith("#")), "")
            return n, first[:80]
    return n, ""


def _describe(exc: BaseException, lang: str) -> tuple[str, str]:
    if isinstance(exc, QspError):
        return exc.format("fr"), exc.format("en")
    if isinstance(exc, CellTimeout):
        return (f"délai dépassé ({exc})", f"timed out ({exc})")
    from .privacy import scrub_message

    text = f"{type(exc).__name__}: {scrub_message(exc)}"
    return text, text


def run_notebooks(paths, out_dir, parameters: dict, *, timeout=DEFAULT_TIMEOUT,
                  progress=None, lang: str = "fr", engine: str = ENGINE_NAME) -> list:
    """Execute ``paths`` with papermill, in order, writing executed copies to ``out_dir``.

    Parameters
    ----------
    paths : sequence of Path
        Notebooks to run.
    out_dir : Path
        Folder for the executed notebooks (same file names).
    parameters : dict
        Name -> value; each notebook receives only the names it declares.
    timeout : float or None
        Per-cell timeout in seconds.
    progress : callable(str) or None
        Called with one line per notebook started/finished.
    engine : str
        Papermill engine name: :data:`ENGINE_NAME` (default, in-process) or
        ``"kernel"`` (one fresh ipykernel per notebook, started from this
        Python with a kernel spec built here, not looked up by name).

    Returns
    -------
    list of nbformat.NotebookNode
        The executed notebooks.

    Raises
    ------
    NotebookFailed
        At the first failing cell: notebook, code-cell number, error.
    """
    _block_slow_optional_imports()
    import papermill
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    declared = {Path(p).stem: set(papermill.inspect_notebook(str(p))) for p in paths}
    executed = []
    n = len(paths)
    for i, path in enumerate(paths, start=1):
        path = Path(path)
        params = {k: v for k, v in parameters.items() if k in declared[path.stem]}
        t0 = time.perf_counter()
        if progress:
            progress(tr(f"[{i}/{n}] {path.stem} ...", f"[{i}/{n}] {path.stem} ...", lang))
        kwargs = {}
        if engine == "kernel":
            kwargs = {"engine_name": None, "kernel_name": KERNEL_NAME,
                      "kernel_manager_class": "qsp_eval.report._OwnKernelManager",
                      "execution_timeout": timeout}
        else:
            kwargs = {"engine_name": engine, "kernel_name": KERNEL_NAME,
                      "execution_timeout": timeout}
        target = out_dir / path.name
        try:
            nb = papermill.execute_notebook(
                str(path), str(target), parameters=params, language="python",
                progress_bar=False, log_output=False, cwd=str(path.parent),
                request_save_on_cell_execute=False, **kwargs)
        except PapermillExecutionError as exc:
            from .io import read_notebook

            nb = read_notebook(target)
            nb.cells = [c for c in nb.cells
                        if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
            failure = _EngineState.failure if engine == ENGINE_NAME else None
            index = failure[0] if failure else exc.cell_index
            cell_no, line = _source_cell_number(nb, index)
            if failure:
                fr, en = _describe(failure[1], lang)
                err = failure[1]
            else:
                from .privacy import scrub_message

                fr = en = f"{exc.ename}: {scrub_message(exc.evalue)}"
                err = exc
            raise NotebookFailed(path.name, cell_no, fr, en, line, err) from None
        if progress:
            progress(tr(f"      terminé en {time.perf_counter() - t0:.1f} s",
                        f"      done in {time.perf_counter() - t0:.1f} s", lang))
        executed.append(nb)
    return executed


def _relative_paths(folder: Path, replace: dict) -> None:
    """Replace absolute paths (source, output, notebooks) in the executed notebooks.

    Papermill writes the parameters and its metadata with the absolute paths
    of the run, which may carry a user or file name; the published notebooks
    say ``"example"`` and ``"."`` instead (disclosure, issue 10).
    """
    import json

    from .io import read_text_file

    pairs = sorted(((json.dumps(a)[1:-1], json.dumps(b)[1:-1]) for a, b in replace.items()),
                   key=lambda ab: -len(ab[0]))
    for nb in sorted(Path(folder).glob("*.ipynb")):
        text = read_text_file(nb)
        new = text
        for a, b in pairs:
            new = new.replace(a, b)
        if new != text:
            write_text(new, nb)


def _own_kernel_manager_class():
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import KernelManager

    class _Own(KernelManager):
        """A kernel manager whose kernel is this Python's ipykernel, whatever is installed."""

        @property
        def kernel_spec(self):
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="qsp-eval", language="python", resource_dir="")

    return _Own


def __getattr__(name):  # lazy: jupyter_client is only imported for engine="kernel"
    if name == "_OwnKernelManager":
        return _own_kernel_manager_class()
    raise AttributeError(name)


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------
def _lang_of(cell) -> str | None:
    tags = cell.get("metadata", {}).get("tags", [])
    for t in tags:
        if t in ("lang-fr", "lang-en"):
            return t[5:]
    return None


def _slug(text: str, used: set) -> str:
    import re
    import unicodedata

    s = unicodedata.normalize("NFKD", text)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-") or "section"
    base, k = s, 2
    while s in used:
        s = f"{base}-{k}"
        k += 1
    used.add(s)
    return s


def _published(output) -> dict | None:
    md = output.get("metadata") or {}
    info = md.get("qsp_eval")
    if output.get("output_type") in ("display_data", "execute_result") and isinstance(info, dict):
        return info
    return None


def _sections(nb, lang: str):
    """Yield ("markdown", text) and ("output", info, data) items of a notebook, code hidden."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cl = _lang_of(cell)
            if cl is None or cl == lang:
                yield ("markdown", cell.source)
        elif cell.cell_type == "code":
            for out in cell.get("outputs", []):
                info = _published(out)
                if info is not None:
                    yield ("output", info, out.get("data", {}))


def build_html(notebooks, *, lang: str = "fr", title: str = "", subtitle: str = "",
               figures_dir=None, footer=()) -> str:
    """Assemble ``report.html`` from executed notebooks.

    Only Markdown cells (those tagged ``lang-fr``/``lang-en`` when they match
    ``lang``, and untagged ones) and the outputs published through
    :mod:`qsp_eval.publish` (display outputs carrying ``metadata["qsp_eval"]``)
    are used: no code, no stray outputs, no ``<script>``. Figures are embedded
    as base64 SVG (read from ``figures_dir/<name>.svg`` when given, else from the
    output) or PNG. Markdown headings become a table of contents.

    Parameters
    ----------
    notebooks : sequence of (str, NotebookNode)
        (stem, executed notebook) in the order of the report's sections.
    lang : {"fr", "en"}
    title, subtitle : str
    footer : sequence of str
        Plain sentences for the report's last lines (escaped), e.g. what the run
        replaced in the output folder.

    Returns
    -------
    str
        The HTML document.
    """
    import base64
    import html
    import re

    import jinja2
    import mistune

    md = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
    used: set = set()
    toc = []
    blocks = []
    for stem, nb in notebooks:
        parts = []
        section_id = _slug(stem, used)
        for item in _sections(nb, lang):
            if item[0] == "markdown":
                rendered = md(item[1])

                def _heading(m, _owner=section_id):
                    level, inner = int(m.group(1)), m.group(2)
                    text = html.unescape(re.sub(r"<[^>]+>", "", inner))
                    hid = _slug(text, used)
                    if level <= 2:
                        toc.append((level, hid, text, _owner))
                    return f'<h{level + 1} id="{hid}">{inner}</h{level + 1}>'

                rendered = re.sub(r"<h([1-5])>(.*?)</h\1>", _heading, rendered, flags=re.S)
                parts.append(f'<div class="text">{rendered}</div>')
            else:
                info, data = item[1], item[2]
                kind = info.get("kind")
                caption = html.escape(str(info.get("title") or ""))
                if kind == "figure":
                    svg_file = (Path(figures_dir) / f"{info.get('name')}.svg"
                                if figures_dir is not None and info.get("name") else None)
                    if svg_file is not None and svg_file.is_file():
                        src = "data:image/svg+xml;base64," + base64.b64encode(
                            read_binary(svg_file)).decode("ascii")
                    elif "image/svg+xml" in data:
                        svg = data["image/svg+xml"]
                        svg = "".join(svg) if isinstance(svg, list) else svg
                        src = "data:image/svg+xml;base64," + base64.b64encode(
                            svg.encode("utf-8")).decode("ascii")
                    elif "image/png" in data:
                        png = data["image/png"]
                        png = "".join(png) if isinstance(png, list) else png
                        src = "data:image/png;base64," + png.replace("\n", "")
                    else:
                        continue
                    alt = html.escape(str(info.get("alt") or info.get("title") or ""))
                    parts.append(
                        f'<figure class="figure"><img src="{src}" alt="{alt}">'
                        + (f"<figcaption>{caption}</figcaption>" if caption else "")
                        + "</figure>")
                elif "text/html" in data:
                    body = data["text/html"]
                    body = "".join(body) if isinstance(body, list) else body
                    parts.append(f'<div class="block {html.escape(str(kind))}">{body}</div>')
                elif "text/markdown" in data:
                    text = data["text/markdown"]
                    text = "".join(text) if isinstance(text, list) else text
                    parts.append(f'<div class="text {html.escape(str(kind))}">{md(text)}</div>')
        blocks.append((section_id, stem, "\n".join(parts)))
    # remove any script tag that could slip in through Markdown (escape=True already does)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    # a package resource, not a data file (allow-listed in tests/test_io.py)
    css = resources.files(__package__).joinpath("templates", "report.css").read_text(
        encoding="utf-8")
    tpl = env.get_template("report.html.j2")
    sections = [{"id": sid, "stem": stem, "html": jinja2.utils.markupsafe.Markup(body)}
                for sid, stem, body in blocks]
    # the coordinator's summary comes first, above the table of contents
    lead = sections[:1] if sections and sections[0]["stem"] == SUMMARY else []
    lead_ids = {e["id"] for e in lead}
    nested = []
    for level, hid, text, owner in toc:
        if owner in lead_ids:
            continue
        if level == 1 or not nested:
            nested.append({"id": hid, "text": text, "children": []})
        else:
            nested[-1]["children"].append({"id": hid, "text": text})
    out = tpl.render(
        lang=lang, title=title, subtitle=subtitle, toc=nested,
        css=jinja2.utils.markupsafe.Markup(css),  # our own file: not to be escaped
        lead=lead, sections=sections[len(lead):],
        toc_title=tr("Sommaire", "Contents", lang),
        files_note=tr("Fichiers du rapport : tables/tables.xlsx est le classeur à lire (libellés "
                      "en français, une feuille « Lisez-moi ») ; tables/*.csv sont les mêmes "
                      "tableaux pour les programmes (R, Python : codes, séparateur virgule, "
                      "UTF-8), pas pour un double-clic dans Excel.",
                      "Report files: tables/tables.xlsx is the workbook to read (labels, a "
                      "'Read me' sheet); tables/*.csv are the same tables for programs (R, "
                      "Python: codes, comma-separated, UTF-8).", lang),
        footer=list(footer or ()),
    )
    out = re.sub(r"<script\b.*?</script>", "", out, flags=re.S | re.I)
    return out


# ---------------------------------------------------------------------------
# Manifest and the whole run
# ---------------------------------------------------------------------------
def _versions() -> dict:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for pkg in ("qsp-eval", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn",
                "papermill", "ipython", "openpyxl", "python-docx"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def write_manifest(folder, *, checksum: str, parameters: dict, extra: dict | None = None) -> Path:
    """Write ``manifest.json`` into ``folder`` and return its path.

    Keys: ``data_checksum`` (SHA-256 of the raw input files), ``parameters``,
    ``versions`` (Python and packages), ``created`` (UTC, ISO 8601), ``files``
    (every file of the folder but the manifest: relative ``path``, ``bytes``,
    ``sha256``, sorted by path), plus ``extra`` (the report adds ``notebooks``,
    ``language`` and ``window``: ``null``, or the reporting window's ``start`` and
    ``end`` with the data's first and last session, ISO dates).
    """
    from .io import file_sha256, write_json

    folder = Path(folder)
    files = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            files.append({"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size,
                          "sha256": file_sha256(p)})
    manifest = {
        "tool": "qsp-eval report",
        "data_checksum": checksum,
        "parameters": parameters,
        "versions": _versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    manifest.update(extra or {})
    return write_json(manifest, folder / "manifest.json")


@dataclass
class ReportResult:
    """What :func:`run_report` produced."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    parameters: dict = field(default_factory=dict)
    #: Files of the previous report written again by this run (relative paths).
    replaced: list[str] = field(default_factory=list)
    #: Files of the previous report this run no longer writes, hence removed.
    removed: list[str] = field(default_factory=list)
    #: What the folder held that does not come from qsp-eval: left in place.
    kept: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutputPlan:
    """What a run found in its output folder before writing anything (see "Output folder").

    Attributes
    ----------
    exists : bool
        The folder exists (empty, or holding a previous qsp-eval report).
    previous : frozenset of str
        Files of the previous report (those its ``manifest.json`` lists, and the
        manifest itself), relative POSIX paths: the only files a run replaces or removes.
    foreign : tuple of str
        Everything else in the folder (a folder that holds no file of the previous
        report is one entry ending in ``/``): left in place, never read, never published.
    created : str
        ``created`` of the previous manifest (``""`` when there is none).
    """

    exists: bool = False
    previous: frozenset = frozenset()
    foreign: tuple = ()
    created: str = ""


def _refuse_folder(out: Path, why_fr: str, why_en: str) -> ParameterError:
    return ParameterError(
        f"« {out} » {why_fr} : qsp-eval n'y écrit pas, pour ne rien effacer de ce qui ne vient "
        "pas de lui. Choisissez un dossier qui n'existe pas, un dossier vide, ou le dossier d'un "
        "rapport qsp-eval précédent (avec son manifest.json). Rien n'a été écrit.",
        f"'{out}' {why_en}: qsp-eval does not write there, so as to delete nothing it did not "
        "write. Choose a folder that does not exist, an empty folder, or the folder of a "
        "previous qsp-eval report (with its manifest.json). Nothing was written.")


def _check_paths(source: Path, out: Path, *, checksums: bool = True) -> OutputPlan:
    """Check that ``out`` may receive the report; say what is in it (nothing is changed).

    The rule (module docstring, "Output folder"): ``out`` must not exist, be empty, or
    hold a previous qsp-eval report, i.e. a ``manifest.json`` written by
    :func:`write_manifest`. Only the files that manifest lists are ours; a listed file
    whose content changed since (its SHA-256 differs) was edited by someone and is
    refused rather than overwritten (``checksums=False`` skips that comparison: the
    second look just before the swap only lists what the folder holds).

    Raises
    ------
    ParameterError
        ``out`` contains or is inside the data; is not a folder; holds files but no
        qsp-eval manifest; or holds an edited file of the previous report.
    """
    from .io import file_sha256, read_json

    src = source.resolve()
    dst = out.resolve()
    if dst == src or src.is_relative_to(dst) or dst.is_relative_to(src):
        raise ParameterError(
            f"Le dossier de sortie « {out} » ne doit ni contenir les données ni être dedans.",
            f"The output folder '{out}' must neither contain the data nor be inside it.",
        )
    if not dst.exists() and not dst.is_symlink():
        return OutputPlan()
    if not dst.is_dir():
        raise _refuse_folder(out, "existe et n'est pas un dossier",
                             "exists and is not a folder")
    files, dirs = [], []
    for root, dirnames, filenames in os.walk(dst):
        here = Path(root).relative_to(dst)
        for d in list(dirnames):
            if (Path(root) / d).is_symlink():  # a link is an entry, never followed
                dirnames.remove(d)
                filenames.append(d)
            else:
                dirs.append((here / d).as_posix())
        files.extend((here / f).as_posix() for f in filenames)
    manifest = dst / "manifest.json"
    listed: dict = {}
    created = ""
    if files:
        if not manifest.is_file():
            raise _refuse_folder(
                out, f"contient déjà {len(files)} fichier(s) et n'est pas un rapport qsp-eval "
                "(pas de manifest.json)",
                f"already holds {len(files)} file(s) and is not a qsp-eval report "
                "(no manifest.json)")
        try:
            man = read_json(manifest)
        except (ValueError, OSError):
            man = None
        if not (isinstance(man, dict) and man.get("tool") == "qsp-eval report"
                and isinstance(man.get("files"), list)):
            raise _refuse_folder(
                out, "contient un manifest.json qui n'est pas celui d'un rapport qsp-eval",
                "holds a manifest.json that is not a qsp-eval report's")
        for f in man["files"]:
            if isinstance(f, dict) and isinstance(f.get("path"), str):
                rel = Path(f["path"])
                if not rel.is_absolute() and ".." not in rel.parts:
                    listed[rel.as_posix()] = f.get("sha256")
        created = str(man.get("created") or "")
    present = set(files)
    edited = sorted(rel for rel, sha in listed.items() if checksums and rel in present and sha
                    and not (dst / rel).is_symlink() and file_sha256(dst / rel) != sha)
    if edited:
        names = ", ".join(edited[:10]) + (" ..." if len(edited) > 10 else "")
        raise ParameterError(
            f"Dans « {out} », ces fichiers du rapport précédent ont été modifiés depuis qu'il a "
            f"été écrit : {names}. Ils ne seront pas écrasés : renommez-les ou déplacez-les hors "
            "du dossier, puis relancez. Rien n'a été écrit.",
            f"In '{out}', these files of the previous report were changed after it was "
            f"written: {names}. They will not be overwritten: rename them or move them out of "
            "the folder, then run again. Nothing was written.")
    previous = {rel for rel in listed if rel in present}
    if manifest.is_file():
        previous.add("manifest.json")
    ours_dirs = {""}
    for rel in previous:
        ours_dirs.update(p.as_posix() for p in Path(rel).parents)
    ours_dirs.discard(".")
    foreign: list = []
    for d in sorted(dirs):
        if d not in ours_dirs and Path(d).parent.as_posix() in ours_dirs | {"."}:
            foreign.append(d + "/")
    top = tuple(f[:-1] for f in foreign)
    for rel in sorted(files):
        if rel in previous or any(rel.startswith(t + "/") for t in top):
            continue
        foreign.append(rel)
    return OutputPlan(True, frozenset(previous), tuple(sorted(foreign)), created)


def _entries(folder: Path) -> set:
    """Relative POSIX paths of every file under ``folder``."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _merge_folders(out: Path, foreign: list, new: set) -> list:
    """Open up a user's folder the new report also writes into (``tables/`` of the user's).

    A foreign folder that is the parent of a new file is replaced, in ``foreign``, by
    what it holds (recursively), so those items are moved one by one beside the new files.
    """
    result: list = []
    todo = list(foreign)
    while todo:
        f = todo.pop()
        p = out / f
        if p.is_dir() and not p.is_symlink() and any(n.startswith(f + "/") for n in new):
            todo.extend(f"{f}/{c.name}" for c in p.iterdir())
        else:
            result.append(f)
    return sorted(result)


class _UserFilesKept(QspError):
    """Putting the user's files back after a failed swap failed: they are in a named folder."""


def _swap(tmp: Path, out: Path, plan: OutputPlan | None = None) -> None:
    """Put the finished folder ``tmp`` in place of ``out``, keeping the user's files.

    The files of ``plan.foreign`` (not written by qsp-eval) are first moved from
    ``out`` into ``tmp`` (renames on one file system), then ``out`` is renamed aside,
    ``tmp`` renamed to ``out`` and the old folder, which then holds only files of the
    previous report, deleted. If any step fails everything is moved back: ``out`` is
    as before and the exception is raised.

    Raises
    ------
    ParameterError
        A new file would take the place of one of the user's files (nothing is changed).
    """
    plan = plan or OutputPlan(exists=out.exists())
    new = _entries(tmp)
    foreign = _merge_folders(out, [f.rstrip("/") for f in plan.foreign], new)
    clash = sorted(f for f in foreign
                   if f in new or any(n.startswith(f + "/") for n in new)
                   or any(f.startswith(n + "/") for n in new))
    if clash:
        raise ParameterError(
            f"Dans « {out} », ces fichiers ne viennent pas de qsp-eval mais le rapport veut "
            f"écrire à leur place : {', '.join(clash[:10])}. Déplacez-les ou renommez-les, "
            "puis relancez. Rien n'a été écrit.",
            f"In '{out}', these files do not come from qsp-eval but the report must write in "
            f"their place: {', '.join(clash[:10])}. Move or rename them, then run again. "
            "Nothing was written.")
    moved: list = []
    old = None
    try:
        for rel in foreign:
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(out / rel, target)
            moved.append(rel)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            old.rmdir()
            os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:
                os.replace(old, out)
                old = None
            raise
    except BaseException:
        try:
            for rel in reversed(moved):
                os.replace(tmp / rel, out / rel)
        except OSError as exc:
            raise _UserFilesKept(
                f"Le rapport n'a pas pu être mis en place et vos fichiers n'ont pas pu être "
                f"remis dans « {out} » : ils sont intacts dans « {tmp} » ({exc}).",
                f"The report could not be put in place and your files could not be moved back "
                f"to '{out}': they are intact in '{tmp}' ({exc}).") from exc
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _folder_note(plan: OutputPlan, lang: str) -> list[str]:
    """The report's last lines: what this run replaced and what it left in the folder."""
    lines = []
    n_prev = len(plan.previous)
    if n_prev:
        when = plan.created.replace("T", " ")[:16]
        when_fr = f" du {when} UTC" if when else ""
        when_en = f" of {when} UTC" if when else ""
        lines.append(tr(
            f"Ce dossier contenait un rapport qsp-eval précédent{when_fr} : ses {n_prev} fichiers "
            "(ceux que listait son manifest.json) ont été remplacés par ceux de ce rapport (ou "
            "retirés s'il ne les produit plus) ; aucun autre fichier du dossier n'a été modifié "
            "ni effacé.",
            f"This folder held a previous qsp-eval report{when_en}: its {n_prev} files (those its "
            "manifest.json listed) were replaced by this report's (or removed when it no longer "
            "writes them); no other file of the folder was changed or deleted.", lang))
    k = len(plan.foreign)
    if k:
        lines.append(tr(
            f"{k} élément(s) du dossier qui ne viennent pas de qsp-eval ont été laissés en place, "
            "sans être lus ni publiés (leurs noms sont donnés par la commande, pas ici).",
            f"{k} item(s) of the folder that do not come from qsp-eval were left in place, "
            "neither read nor published (their names are given by the command, not here).",
            lang))
    return lines


def _prefetch_profiles(saver, dataset, settings) -> None:
    """Compute the profile tables in the background, as ``02-profiles`` asks for them.

    ``pub.compute(profiles.composition, period="year")`` (also needed by
    ``00-data-quality``), the newcomers' profile and the before/after comparison: about
    1.5 s on the example, done on the second core while the first notebooks run. Only
    without a reporting window (the notebooks then compute on the window themselves).
    """
    from . import publish

    if settings.windowed:
        return
    try:
        from . import profiles
    except ImportError:  # pragma: no cover - module absent
        return
    publish.prefetch(saver, dataset, settings, profiles.composition, period="year")
    publish.prefetch(saver, dataset, settings, profiles.newcomers_profile, period="year")
    publish.prefetch(saver, dataset, settings, profiles.before_after_events, window_years=1,
                     rules=settings.rules)


def _prefetch_theming(saver, dataset, settings, declared, params) -> None:
    """Compute ``theming_analysis(seed=...)`` in the background, as ``03-theming`` calls it."""
    import ast

    from . import publish

    if "seed" in params:
        seed = params["seed"]
    elif "seed" in declared:
        try:
            seed = ast.literal_eval(declared["seed"].default)
        except (ValueError, SyntaxError):
            return
    else:
        return
    try:
        from . import theming
    except ImportError:  # pragma: no cover - module absent
        return
    if getattr(dataset.config, "change", None) is None and settings.config.change is None:
        return
    publish.prefetch(saver, dataset, settings, theming.theming_analysis, seed=seed)


@contextlib.contextmanager
def _key_for_kernels(key_file, source: Path, engine: str):
    """With ``engine="kernel"`` and a key file, put the key in ``QSP_PSEUDONYM_KEY`` meanwhile.

    Kernels are separate processes that load the data themselves: the environment
    is how the key reaches them. The previous value (or absence) is restored.
    """
    if key_file is None or engine == ENGINE_NAME:
        yield
        return
    from .privacy import KEY_ENV, resolve_key

    try:
        value = resolve_key(key_file=key_file, data_path=source).decode("utf-8")
    except UnicodeDecodeError:
        raise ParameterError(
            "Avec --engine kernel, le fichier de clé doit être du texte (UTF-8).",
            "With --engine kernel, the key file must be text (UTF-8).") from None
    before = os.environ.get(KEY_ENV)
    os.environ[KEY_ENV] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(KEY_ENV, None)
        else:
            os.environ[KEY_ENV] = before


def run_report(source, out_dir, *, lang: str = "fr", parameters: dict | None = None,
               notebooks=None, notebook_folder=None, timeout=DEFAULT_TIMEOUT,
               progress=None, engine: str = ENGINE_NAME, scan: bool = True,
               prefetch_theming: bool = True, key_file=None) -> ReportResult:
    """Build the whole report folder for ``source`` into ``out_dir``, atomically.

    Parameters
    ----------
    source : path-like
        Data folder or workbook (never modified).
    out_dir : path-like
        Output folder; replaced only when the new one is complete and clean.
    lang : {"fr", "en"}
        Language of ``report.html`` (both write-ups are always written).
    parameters : dict, optional
        Extra notebook parameters (name -> value or string), checked against the
        declared ones (unknown name or wrong type: :class:`ParameterError`).
    notebooks : sequence of str, optional
        Notebook stems to run (default :data:`NOTEBOOKS`); for tests.
    notebook_folder : path-like, optional
        Where the notebooks are (default :func:`notebook_dir`).
    timeout : float
        Per-cell timeout, seconds.
    progress : callable(str), optional
        Progress lines (the CLI prints them to stderr).
    engine : str
        See :func:`run_notebooks`.
    scan : bool
        Run ``disclosure.scan_outputs`` before declaring success (default True).
    prefetch_theming : bool
        Start the theming analysis in the background worker before the notebooks
        run (in-process engine only), as ``03-theming`` will ask for it; the
        notebook computes it itself when its arguments differ.
    key_file : path-like, optional
        Pseudonymisation key file, kept outside the data folder (see
        :func:`qsp_eval.privacy.resolve_key`): pseudonyms are then the same on
        every run. The data are loaded with it (:func:`qsp_eval.publish.load_dataset`)
        and the in-process notebooks reuse that dataset; with ``engine="kernel"``
        the key reaches the notebooks' kernels through ``QSP_PSEUDONYM_KEY``.
        Default: that variable, else a random key for the run. Never written
        into the report (not even its path).

    Returns
    -------
    ReportResult

    Raises
    ------
    ParameterError, DataError, NotebookFailed, DisclosureError
        Nothing is written to ``out_dir`` in any of these cases.

    Examples
    --------
    >>> # run_report("data/example", "outputs/example", lang="fr")
    """
    from . import publish

    t0 = time.perf_counter()
    say = progress or (lambda s: None)
    if lang not in ("fr", "en"):
        raise ParameterError(f"Langue inconnue : « {lang} » (fr ou en).",
                             f"Unknown language: '{lang}' (fr or en).")
    # absolute paths: the notebooks run with their own working directory, so a
    # relative output folder would otherwise be resolved against it
    source = Path(source).resolve()
    out = Path(out_dir).resolve()
    if not source.exists():
        raise ParameterError(f"Source introuvable : « {source} ».",
                             f"Source not found: '{source}'.")
    plan = _check_paths(source, out)
    paths = notebook_paths(notebook_folder, notebooks)
    declared = declared_parameters(paths)
    given = dict(parameters or {})
    if "lang" in given and str(given["lang"]) != lang:
        raise ParameterError("Donnez la langue avec --lang, pas -p lang=.",
                             "Give the language with --lang, not -p lang=.")
    given.pop("lang", None)
    params = check_parameters(given, declared)
    if "lang" in declared:
        params["lang"] = lang
    say(tr("Vérification des données...", "Checking the data...", lang))
    dataset = publish.load_dataset(str(source.resolve()), key_file=key_file)
    settings = publish.check_settings(dataset, **{k: v for k, v in params.items()
                                                   if k in publish.SETTING_NAMES})
    for name, day in (("window_start", settings.window_start),
                      ("window_end", settings.window_end)):
        if name in params:  # "31/12/2023" -> "2023-12-31": one spelling in every notebook
            params[name] = day.isoformat() if day is not None else ""
    # no change date is not an error: the theming section then says so in words
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the report folder gets the usual rights
    try:
        run_params = dict(params, source=str(source.resolve()), output_dir=str(tmp))
        run_params = {k: v for k, v in run_params.items() if k in declared}
        saver = publish.FigureSaver() if engine == ENGINE_NAME else None
        publish._SAVER = saver
        try:
            if saver is not None and prefetch_theming:
                _prefetch_profiles(saver, dataset, settings)
                _prefetch_theming(saver, dataset, settings, declared, params)
            with _key_for_kernels(key_file, source, engine):
                executed = run_notebooks(paths, tmp / "notebooks", run_params,
                                         timeout=timeout, progress=say, lang=lang,
                                         engine=engine)
            _relative_paths(tmp / "notebooks", {str(tmp): ".", str(source): source.name,
                                                 str(paths[0].parent): "notebooks"})
            say(tr("Assemblage du rapport...", "Assembling the report...", lang))
            # the workbook is written and scanned here while the worker finishes the figures
            # and the .docx files (reading it back is the slowest part of the scan)
            workbook_findings = publish.write_workbook_scanned(tmp, lang, settings.config,
                                                               scan=scan)
            if saver is not None:
                saver.wait()  # figures and .docx files written: the HTML embeds the figures
            by_stem = {p.stem: nb for p, nb in zip(paths, executed)}
            ordered = [(s, by_stem[s]) for s in REPORT_ORDER if s in by_stem]
            ordered += [(s, nb) for s, nb in by_stem.items() if s not in REPORT_ORDER]
            cfg = dataset.config
            title = tr("Rapport d'évaluation", "Evaluation report", lang)
            if cfg.programme:
                title = f"{title} — {cfg.programme}"
            subtitle = publish.report_subtitle(dataset, lang=lang, window=settings.window)
            html_text = build_html(ordered, lang=lang, title=title, subtitle=subtitle,
                                   figures_dir=tmp / "figures",
                                   footer=_folder_note(plan, lang))
            write_text(html_text, tmp / "report.html")
        finally:
            publish._SAVER = None
            if saver is not None:
                saver.close()
        if scan:
            say(tr("Contrôle de diffusion des sorties...", "Disclosure check of the outputs...",
                   lang))
            publish.scan_folder(tmp, dataset, skip=[publish.WORKBOOK_PATH],
                                findings=workbook_findings)
        public_params = {k: v for k, v in run_params.items() if k not in RESERVED}
        public_params["source"] = source.name
        window = settings.window
        write_manifest(tmp, checksum=dataset.checksum, parameters=public_params,
                       extra={"notebooks": [p.name for p in paths], "language": lang,
                              "window": None if window is None else {
                                  "start": window[0].isoformat(),
                                  "end": window[1].isoformat(),
                                  "data_start": settings.data_start.isoformat(),
                                  "data_end": settings.data_end.isoformat()}})
        written = _entries(tmp)
        # looked at again: a file the user put there during the run is kept too
        plan = _check_paths(source, out, checksums=False)
        _swap(tmp, out, plan)
    except _UserFilesKept:
        raise  # the user's files are in tmp: never delete it
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    kept = [f.rstrip("/") for f in plan.foreign]
    files = sorted(out / rel for rel in written)
    replaced = sorted(plan.previous & written)
    removed = sorted(plan.previous - written)
    seconds = time.perf_counter() - t0
    say(tr(f"Rapport écrit dans {out} ({len(files)} fichiers, {seconds:.1f} s).",
           f"Report written to {out} ({len(files)} files, {seconds:.1f} s).", lang))
    for line in _folder_lines(replaced, removed, plan.foreign, lang):
        say(line)
    return ReportResult(out, files, seconds, public_params, replaced, removed, kept)


def _folder_lines(replaced, removed, foreign, lang: str) -> list[str]:
    """Lines for the terminal: the files replaced, removed and left in place, by name."""
    def names(items, k=12):
        items = list(items)
        more = len(items) - k
        return ", ".join(items[:k]) + (tr(f" et {more} autres", f" and {more} more", lang)
                                       if more > 0 else "")

    lines = []
    if replaced:
        lines.append(tr(f"  Remplacés (rapport précédent) : {len(replaced)} fichiers : "
                        f"{names(replaced, 6)}",
                        f"  Replaced (previous report): {len(replaced)} files: "
                        f"{names(replaced, 6)}", lang))
    if removed:
        lines.append(tr(f"  Retirés (du rapport précédent, plus produits) : {names(removed)}",
                        f"  Removed (of the previous report, no longer produced): "
                        f"{names(removed)}", lang))
    if foreign:
        lines.append(tr(f"  Laissés en place (ne viennent pas de qsp-eval) : {names(foreign)}",
                        f"  Left in place (not from qsp-eval): {names(foreign)}", lang))
    return lines
