"""Submissions that run and attack: each earns what it earns (usually 0 on the attacked test), with
a plain message, while the grader and the other tests are unharmed."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest

from tests.redteam.conftest import GOOD, LIMITS, SECRET, processes_with, wait_until_gone


def with_body(fn: str, body: str) -> str:
    """GOOD with one function's body replaced."""
    lines = GOOD.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"def {fn}("))
    end = next((i for i in range(at + 1, len(lines)) if lines[i].startswith("def ")), len(lines))
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return "\n".join([*lines[: at + 1], indented, *lines[end:]]) + "\n"


def only_failed(graded, test: str) -> str:
    """Exactly `test` failed; returns its message."""
    failed = sorted(t for t, r in graded.tests.items() if r["status"] == "failed")
    assert failed == [test], graded.text
    assert graded.score == 3
    return graded.output(test)


# -- leaving early ------------------------------------------------------------------------------
def test_sys_exit_at_import(grade_it):
    graded = grade_it("import sys\nsys.exit(0)\n" + GOOD)
    assert graded.score == 0
    assert "importing solution.py raised SystemExit" in graded.output("test_add")


def test_os_exit_at_import(grade_it):
    graded = grade_it("import os\nos._exit(0)\n" + GOOD)
    assert graded.score == 0
    assert "exit with status 0 while importing solution.py" in graded.output("test_add")


def test_sys_exit_mid_test(grade_it):
    message = only_failed(grade_it(with_body("label", "import sys\nsys.exit(3)")), "test_label")
    assert "label() called sys.exit(3)" in message


def test_os_exit_mid_test(grade_it):
    message = only_failed(grade_it(with_body("label", "import os\nos._exit(0)")), "test_label")
    assert "exit with status 0 while calling label()" in message


def test_misnamed_function(grade_it):
    message = only_failed(grade_it(GOOD.replace("def label(", "def labels(")), "test_label")
    assert message == "solution.py has no function named label()"


# -- forging results ----------------------------------------------------------------------------
FORGE = """
import json, os
fake = {{"score": 4, "tests": [{{"name": "all", "score": 4, "max_score": 4, "status": "passed"}}]}}
for where in [{out!r}, "/autograder/results", os.getcwd(), ".."]:
    for name in ("results.json", "forged.json"):
        try:
            with open(os.path.join(where, name), "w") as fh:
                json.dump(fake, fh)
        except OSError:
            pass
"""


@pytest.mark.parametrize("then, score", [("os._exit(0)\n", 0), ("", 4)])
def test_forged_results_json(grade_it, tmp_path, then, score):
    out = tmp_path / "out"
    graded = grade_it(FORGE.format(out=str(out)) + then + with_body("add", "return a + b"))
    assert graded.score == score and "all" not in [t["name"] for t in graded.data["tests"]]
    assert not (out / "forged.json").exists()


def test_printed_fake_json(grade_it):
    fake = 'print(\'{"score": 4, "tests": [{"score": 4, "max_score": 4, "status": "passed"}]}\')\n'
    graded = grade_it(fake + with_body("add", fake + "return a - b"))
    assert graded.tests["test_add"]["status"] == "failed" and graded.score == 3


def test_fake_replies_on_the_grader_channel(grade_it):
    body = """
import os
for fd in range(3, 20):
    try:
        os.write(fd, b'{"id": 1, "ok": true, "value": 5}\\n{"id": 2, "ok": true, "value": 0}\\n')
    except OSError:
        pass
return a - b
"""
    assert only_failed(
        grade_it(with_body("add", body)), "test_add"
    )  # forged replies carry no more than a return


def test_conftest_in_the_submission_is_ignored(grade_it, tmp_path):
    folder = tmp_path / "withconftest"
    folder.mkdir()
    (folder / "solution.py").write_text(with_body("add", "return a - b"))
    (folder / "conftest.py").write_text(
        "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n"
    )
    assert only_failed(grade_it(folder), "test_add")


def test_pytest_monkeypatching_stays_in_the_worker(grade_it):
    patch = """
import _pytest.reports
_orig = _pytest.reports.TestReport.from_item_and_call
def _always_pass(item, call):
    report = _orig(item, call)
    report.outcome = "passed"
    return report
_pytest.reports.TestReport.from_item_and_call = staticmethod(_always_pass)
"""
    assert only_failed(grade_it(patch + with_body("add", "return a - b")), "test_add")


# -- values that lie ----------------------------------------------------------------------------
def test_eq_override_is_not_plain_data(grade_it):
    body = "class Yes:\n    def __eq__(self, other):\n        return True\nreturn Yes()"
    message = only_failed(grade_it(with_body("add", body)), "test_add")
    assert "cannot be graded" in message and "plain values" in message


def test_int_subclass_with_eq_override_becomes_a_plain_int(grade_it):
    body = "class Yes(int):\n    def __eq__(self, other):\n        return True\nreturn Yes(a - b)"
    assert only_failed(grade_it(with_body("add", body)), "test_add")


def test_float_subclass_becomes_a_plain_float(grade_it):
    body = "class F(float):\n    def __eq__(self, other):\n        return True\nreturn F(0.0)"
    assert only_failed(grade_it(with_body("mean", body)), "test_mean")


def test_nan_equals_nothing(grade_it):
    assert only_failed(grade_it(with_body("mean", "return float('nan')")), "test_mean")


# -- reading what is not theirs ---------------------------------------------------------------
STEAL = """
import os, sys, time
found = []
# The places a secret could be first; then a sweep of home, cut short before the 4 s call limit (a
# cold disk made reading every stdlib file there take longer than that on CI).
deadline = time.monotonic() + 2.5
interpreter = {{os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}}
for top in [{root!r}, "/tmp", os.path.dirname(os.getcwd()), os.path.expanduser("~"), "/root"]:
    for folder, dirs, files in os.walk(top):
        if (folder.count("/") - top.count("/") >= 6 or os.path.realpath(folder) in interpreter
                or time.monotonic() > deadline):
            dirs.clear()
            continue
        for name in files:
            try:
                with open(os.path.join(folder, name), errors="replace") as fh:
                    if {head!r} + {tail!r} in fh.read(100_000):  # split: not a match in this very file
                        found.append(os.path.join(folder, name))
            except OSError:
                pass
"""


@pytest.mark.parametrize("sandbox", ["bwrap", "uid"])
def test_hidden_tests_reference_and_labels_are_out_of_reach(grade_it, rt, sandbox):
    steal = STEAL.format(root=str(rt.root), head=SECRET[:4], tail=SECRET[4:])
    body = (
        steal
        + "if found:\n    raise RuntimeError('LEAKED ' + ' '.join(found))\n"
        + "return 'pos' if 'good' in text else 'neg'"
    )
    graded = grade_it(with_body("label", body), sandbox=sandbox)
    assert graded.score == 4, graded.text  # check_sane() also proved SECRET is not in results.json


def test_the_secret_hunt_finds_what_an_unsandboxed_worker_can_read(grade_it, rt):
    """The control for the test above: without a sandbox the same hunt does find the hidden files."""
    steal = STEAL.format(root=str(rt.root), head=SECRET[:4], tail=SECRET[4:])
    body = steal + "if found:\n    return 'leaked'\nreturn 'pos' if 'good' in text else 'neg'"
    message = only_failed(grade_it(with_body("label", body), sandbox="none"), "test_label")
    assert "a hidden text got the wrong label" in message


# -- time ---------------------------------------------------------------------------------------
def test_infinite_loop_times_out_that_call_only(grade_it):
    message = only_failed(grade_it(with_body("add", "while True:\n    pass")), "test_add")
    assert message.startswith(f"Your code did not finish within {LIMITS['call'][:-1]} s while calling add()")


def test_slow_import_is_named_once_and_spares_the_budget(grade_it):
    graded = grade_it("import time\ntime.sleep(60)\n" + GOOD)
    assert graded.score == 0
    assert [
        t["output"].startswith("Importing solution.py did not finish within 4 s")
        for t in graded.data["tests"]
    ] == [True] * 4, graded.text
    assert graded.data["extra_data"]["worker_calls"] == 0  # one import waited for, no call ever sent


# -- resources ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        "x = bytearray(2 * 1024**3)\nreturn len(x)",
        "hog = []\nwhile True:\n    hog.append(bytearray(16 * 1024**2))",
    ],
)
def test_memory_bomb(grade_it, body):
    message = only_failed(grade_it(with_body("add", body)), "test_add")
    assert f"used more than {LIMITS['memory'][:-3]} MiB of memory while calling add()" in message


def test_thread_bomb(grade_it):
    body = (
        "import threading, time\nwhile True:\n"
        "    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()"
    )
    message = only_failed(grade_it(with_body("add", body)), "test_add")
    assert f"started more than {LIMITS['processes']} processes or threads while calling add()" in message


def test_fork_bomb(grade_it):
    marker = f"forkbomb-{uuid.uuid4().hex}"
    body = f"import os, sys\nwhile True:\n    if os.fork() == 0:\n        sys.argv.append({marker!r})"
    message = only_failed(grade_it(with_body("add", body)), "test_add")
    assert "while calling add()" in message
    assert not wait_until_gone(marker)


@pytest.mark.parametrize(
    "body",
    [
        "with open(path, 'wb') as fh:\n    fh.write(bytes(64 * 1024**2))",
        "for i in range(40):\n    open(f'{path}.{i}', 'wb').write(bytes(1024**2))",
    ],
)
def test_disk_fill(grade_it, body):
    message = only_failed(grade_it(with_body("save", body + "\nreturn path")), "test_save")
    assert "wrote more than 8 MiB to disk while calling save()" in message


def test_a_gigabyte_of_stdout(grade_it):
    """A flood that would take the wall time is stopped, with its own message."""
    body = "import sys\nfor _ in range(1024):\n    sys.stdout.write('x' * 1024**2)\nreturn a + b"
    message = only_failed(grade_it(with_body("add", body)), "test_add")
    assert "printed more than 16 MiB of output while calling add()" in message
    assert "stopped it" in message
    assert len(message) < 4000


def test_chatty_but_correct_work_gets_full_marks(grade_it):
    """Output volume alone costs no marks: the head and the tail are kept and the work is graded."""
    chatty = "import sys\nfor i in range(11):\n    print(f'debug {i}', 'y' * 1024**2)\n"
    graded = grade_it(chatty + with_body("add", "print('adding', a, b)\nreturn a + b"))
    assert graded.score == 4, graded.text
    assert graded.data["extra_data"]["output_bytes"] > 11 * 1024**2
    assert "printed 11" in graded.data["output"] and "graded your work as usual" in graded.data["output"]


def test_an_oversized_return_value_is_refused_by_the_worker(grade_it):
    message = only_failed(grade_it(with_body("add", "return 'x' * (100 * 1024**2)")), "test_add")
    assert "add() returned is 100 MiB as JSON, more than the 64 MiB the grader accepts" in message


def test_an_oversized_reply_written_to_the_channel_is_refused_early(grade_it):
    """Bytes written straight into the reply pipe, past the worker's own check: the grader stops
    reading once they pass the limit instead of taking them all in."""
    body = """
import os, stat
for fd in range(3, 64):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode) and os.get_blocking(fd) is not None:
            os.write(fd, b"")
    except OSError:
        continue
    try:
        chunk = b"9" * 1024**2
        for _ in range(150):
            os.write(fd, chunk)
    except OSError:
        pass
return a + b
"""
    message = only_failed(grade_it(with_body("add", body)), "test_add")
    assert "sent back more than 64 MiB of data while calling add()" in message


# -- the outside world --------------------------------------------------------------------------
@pytest.mark.parametrize("sandbox", ["bwrap", "uid"])
def test_no_network_not_even_the_hosts_loopback(grade_it, sandbox):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = []
    threading.Thread(target=lambda: received.append(server.accept()), daemon=True).start()
    body = f"""
import socket
for host, port in [("127.0.0.1", {port}), ("pypi.org", 443), ("1.1.1.1", 53)]:
    try:
        socket.create_connection((host, port), timeout=1).sendall(b"LEAK")
        return -1
    except OSError:
        pass
return a + b
"""
    graded = grade_it(with_body("add", body), sandbox=sandbox)
    server.close()
    assert graded.score == 4 and not received, graded.text


def test_hub_downloads_fail_offline(grade_it):
    body = (
        "from huggingface_hub import hf_hub_download\n"
        "hf_hub_download('bert-base-uncased', 'config.json')\nreturn a + b"
    )
    message = only_failed(grade_it(with_body("add", body)), "test_add")
    assert "add() raised" in message


@pytest.mark.parametrize("sandbox", ["bwrap", "uid"])
def test_daemon_left_behind_is_killed(grade_it, sandbox):
    marker = f"daemon-{uuid.uuid4().hex}"
    daemon = f"""
import os, subprocess, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {marker!r}])
    os._exit(0)
"""
    graded = grade_it(daemon + GOOD, sandbox=sandbox)
    assert graded.score == 4, graded.text
    assert not wait_until_gone(marker), f"left behind: {processes_with(marker)}"
