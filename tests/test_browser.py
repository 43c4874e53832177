"""The student's JupyterLab in a real browser: `make lab` from a fresh copy, driven by Chromium.

Playwright for Python drives the system's Chromium (Debian's `chromium`, which `.ci/run`
installs; Playwright's own browser downloads are not used). The lab is started exactly as a
student starts it, `make lab ARGS=--no-browser`, on a free port, from a copy of the repository's
tracked files in a temporary folder (nothing the lab autosaves touches the repository), with
this checkout's `.venv` (no reinstall). Its Jupyter user folders (settings, workspaces, runtime)
are temporary too, so a developer's own JupyterLab settings do not leak in.

Skipped, saying why, where no Chromium or no Playwright is found (a student's laptop).
Waits are generous (the suite runs beside notebook tests on 2 cores); a failing step reports
the lab's log and a screenshot. ``CONVLAB_SCREENSHOTS=<folder>`` keeps a screenshot of every
step (to look at what a student sees).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import ROOT

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
STARTUP = 180  # s for `make lab` to print its URL
KERNEL = 180_000  # ms for a cell to run (a kernel starts first; the machine is busy)
UI = 120_000  # ms for the lab's UI to show something
SHOTS = os.environ.get("CONVLAB_SCREENSHOTS")  # a folder: keep a screenshot of every step
URL = re.compile(r"http://127\.0\.0\.1:(\d+)(/lab/tree/notebooks/00_index\.ipynb)\?token=(\w+)")


def _chromium() -> str | None:
    found = os.environ.get("CONVLAB_CHROMIUM")
    if found:
        return found
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def _copy_repository(dest: Path) -> None:
    """Copy the tracked files as they are in the working tree (uncommitted edits included)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


class Lab:
    """A running `make lab` and a headless Chromium pointed at it."""

    def __init__(self, tmp: Path, chromium: str) -> None:
        from playwright.sync_api import sync_playwright

        self.tmp = tmp
        self.repo = tmp / "repo"
        _copy_repository(self.repo)
        home = tmp / "jupyter"
        outer_make = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")  # when run by `make test`
        env = {
            **{k: v for k, v in os.environ.items() if k not in outer_make},
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        }
        venv = ROOT / ".venv"
        self.log_path = tmp / "lab.log"
        self._log = self.log_path.open("w")
        # `-o STAMP`: never reinstall into this checkout's .venv from the copy
        self.server = subprocess.Popen(
            ["make", "-C", str(self.repo), "lab", f"VENV={venv}", "PORT=0",
             "ARGS=--no-browser", "-o", f"{venv}/.installed"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        self.url = self._wait_for_url()
        self.base = self.url.split("/lab/")[0]
        self.token = self.url.rsplit("token=", 1)[1]
        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(executable_path=chromium)
        self.context = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(UI)

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            match = URL.search(self.log_path.read_text())
            if match:
                return match.group(0)
            if self.server.poll() is not None:
                break
            time.sleep(0.5)
        self.close()
        pytest.fail(
            f"`make lab` printed no URL of the index within {STARTUP} s "
            f"(exit code {self.server.returncode}):\n{self.log_path.read_text()[-3000:]}"
        )

    @contextmanager
    def open(self, path: str, name: str) -> Iterator[tuple[Any, Any]]:
        """A new tab on ``/lab/tree/<path>`` (fresh workspace): yields (page, notebook).

        A failure inside the block is reported with a screenshot and the lab's log.
        """
        page = self.context.new_page()
        try:
            page.goto(f"{self.base}/lab/tree/{path}?token={self.token}&reset")
            yield page, current_notebook(page)
            self.shot(page, name)
        except Exception as exc:
            shot = self.tmp / f"{name}-failed.png"
            page.screenshot(path=shot)
            raise AssertionError(f"{exc}\n\nscreenshot: {shot}\nlab log:\n{self.log()}") from exc
        finally:
            page.close()

    def shot(self, page: Any, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=Path(SHOTS) / f"{name}.png")

    def log(self) -> str:
        return self.log_path.read_text()[-3000:]

    def close(self) -> None:
        for step in (
            lambda: self.browser.close(),
            lambda: self._playwright.stop(),
        ):
            try:
                step()
            except Exception:  # best effort: the server must still be stopped
                pass
        if self.server.poll() is None:  # SIGTERM: the server shuts its kernels down
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    chromium = _chromium()
    if chromium is None:
        pytest.skip(
            "no Chromium found (looked for " + ", ".join(CHROMIUM_NAMES) + " and "
            "$CONVLAB_CHROMIUM): the browser test runs where one is (CI installs Debian's "
            "chromium); on Debian/Ubuntu: sudo apt-get install chromium"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.skip("the browser test needs make and git")
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("the browser test reuses this checkout's .venv: run `make test` once")
    started = Lab(tmp_path_factory.mktemp("lab"), chromium)
    yield started
    started.close()


def current_notebook(page):
    """The notebook of the current (visible) tab, once its cells are shown."""
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    notebook.locator(".jp-Cell").first.wait_for()
    return notebook


def code_cell(notebook, text: str):
    """The first code cell whose source contains ``text``."""
    return (
        notebook.locator(".jp-CodeCell")
        .filter(has=notebook.page.locator(".jp-InputArea", has_text=text))
        .first
    )


def wait_until(page, js: str, arg: Any, what: str, timeout: int) -> None:
    """``page.wait_for_function`` whose timeout says what it waited for."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(js, arg=arg, timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"waited {timeout / 1000:.0f} s for {what}") from None


PROMPT = "([cell, before]) => cell.querySelector('.jp-InputArea-prompt').textContent !== before"
PROMPT_DONE = """([cell, before]) => {
    const text = cell.querySelector('.jp-InputArea-prompt').textContent;
    return /\\[\\d+\\]/.test(text) && text !== before;
}"""


def run_cell(cell, timeout: int = KERNEL) -> str:
    """Run ``cell`` as a student does (select it, Shift+Enter); return its output's text."""
    page, prompt = cell.page, cell.locator(".jp-InputArea-prompt")
    cell.scroll_into_view_if_needed()
    before = prompt.inner_text()
    source = cell.locator(".jp-InputArea").inner_text()[:60]
    for attempt in range(2):  # a key press that arrives while the lab is busy can be lost
        prompt.click()
        page.keyboard.press("Shift+Enter")
        try:  # queued ([*]) or done
            wait_until(page, PROMPT, [cell.element_handle(), before], "", timeout=20_000)
            break
        except AssertionError:
            if attempt:
                raise AssertionError(f"Shift+Enter did not start the cell {source!r}") from None
    wait_until(
        page, PROMPT_DONE, [cell.element_handle(), before], f"the cell {source!r} to run", timeout
    )
    return cell.locator(".jp-Cell-outputArea").inner_text()


def set_source(cell, code: str) -> None:
    """Replace the cell's code (typed as one paste: no auto-indent or closing brackets)."""
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    cell.page.keyboard.press("ControlOrMeta+a")
    cell.page.keyboard.insert_text(code)


def test_make_lab_prints_the_index_url_and_hides_the_instructor_tools(lab):
    assert URL.search(lab.url), lab.url
    with lab.open("notebooks/00_index.ipynb", "index") as (page, notebook):
        # the URL that `make lab` printed lands on the index itself (no Launcher first)
        page.goto(lab.url)
        notebook = current_notebook(page)
        current = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
        assert "00_index.ipynb" in current.inner_text()
        notebook.get_by_role("link", name="01", exact=True).first.wait_for()
        # once its kernel is up the index is not marked modified (its kernelspec is the kernel's)
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle")).first.wait_for()
        assert "jp-mod-dirty" not in (current.get_attribute("class") or "")
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        assert "File" in menus and "Nbgrader" not in menus, menus
        assert not page.get_by_text("Create Assignment").count()
        formgrader = page.request.get(f"{lab.base}/formgrader?token={lab.token}")
        assert formgrader.status == 404, "nbgrader's server extension is on in the student lab"
        assert "nbgrader" not in lab.log().lower(), lab.log()


def test_explorer_shows_a_picture_before_its_cell_runs(lab):
    # an opened notebook is not trusted: JupyterLab does not render its saved widget views,
    # it shows the explorer's safe image/png instead (here: the output of a fresh explorer)
    import matplotlib.pyplot as plt

    from convlab.widgets import stencil_explorer

    bundle = stencil_explorer()._repr_mimebundle_()
    plt.close("all")
    bundle["image/png"] = base64.b64encode(bundle["image/png"]).decode()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("stencil_explorer()", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("execute_result", bundle, execution_count=1)]
    nb.cells = [cell]
    nbformat.write(nb, lab.repo / "notebooks" / "zz_explorer_preview.ipynb")
    with lab.open("notebooks/zz_explorer_preview.ipynb", "explorer-unrun") as (_, notebook):
        output = notebook.locator(".jp-Cell-outputArea")
        image = output.locator("img")
        image.wait_for()
        assert image.evaluate("img => img.naturalWidth") > 400
        assert "VBox(" not in output.inner_text()


def test_explorer_renders_and_redraws_when_a_control_changes(lab):
    with lab.open("notebooks/01_conv1d_structured_matrices.ipynb", "explorer") as (page, nb):
        cell = code_cell(nb, "stencil_explorer(")
        run_cell(cell)
        output = cell.locator(".jp-Cell-outputArea")
        figure = output.locator(".widget-output img")
        figure.wait_for(timeout=KERNEL)
        assert output.locator(".widget-slider").count() >= 4  # θ1..θ3 and n
        first = figure.get_attribute("src")
        output.locator(".widget-dropdown select").select_option("valid")
        # the Output widget replaces its <img> when the kernel has redrawn the figure
        wait_until(
            page,
            """([cell, first]) => {
                const img = cell.querySelector('.widget-output img');
                return img !== null && img.src !== first;
            }""",
            [cell.element_handle(), first],
            "the explorer's figure to change after boundary -> valid",
            KERNEL,
        )


TRANSPOSED = """\
def build_zero(theta, n):
    L = len(theta)
    K = np.zeros((n, n))
    for i in range(n):
        for p in range(L):
            if 0 <= i - p + L // 2 < n:
                K[i - p + L // 2, i] = theta[p]  # the transpose: correlation, not convolution
    return K
"""
RIGHT = TRANSPOSED.replace("K[i - p + L // 2, i]", "K[i, i - p + L // 2]").replace(
    "  # the transpose: correlation, not convolution", ""
)


def test_exercise_from_the_index_reports_a_stub_a_wrong_and_a_right_answer(lab):
    with lab.open("notebooks/00_index.ipynb", "exercise") as (page, index):
        index.get_by_role("link", name="01", exact=True).first.click()
        # the exercise's own tab (its tooltip names the path) becomes the current one
        page.locator(
            ".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current"
            "[title*='exercises/01_conv1d_structured_matrices.ipynb']"
        ).wait_for()
        exercise = current_notebook(page)
        run_cell(code_cell(exercise, "from convlab.grading import check"))
        stub = code_cell(exercise, "def build_zero")
        check = code_cell(exercise, 'check("01.zero_matrix"')
        run_cell(stub)
        stub_report = run_cell(check)
        lab.shot(page, "exercise-stub")
        assert "not done yet" in stub_report, stub_report

        set_source(stub, TRANSPOSED)
        run_cell(stub)
        wrong_report = run_cell(check)
        lab.shot(page, "exercise-wrong")
        assert "01.zero_matrix" in wrong_report and "fail" in wrong_report.lower(), wrong_report
        assert "transpose" in wrong_report.lower(), wrong_report  # the mistake is named

        set_source(stub, RIGHT)
        run_cell(stub)
        right_report = run_cell(check)
        assert "passed" in right_report and "fail" not in right_report.lower(), right_report

    # what the student sees is the report, once, without the grader's internals
    for report in (stub_report, wrong_report, right_report):
        assert "Traceback" not in report and "convlab/grading" not in report, report
        assert report.count("01.zero_matrix") == 1, report
    assert len(stub_report.strip().splitlines()) == 1, stub_report  # "not done yet" is one line
