"""The Python locks (requirements.txt, requirements-dev.txt) are what CI, `make install` and the Dockerfile
install with `pip --require-hashes`. They are generated from the pins in requirements.in and
requirements-dev.in by `make lock`; these tests fail when someone edits a pin and forgets the lock, or hand-edits
a lock entry without its hashes.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path):
    """{package: version} for every `name==version` line of a requirements file, extras and markers dropped."""
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[_canonical(match.group(1))] = match.group(2)
    return found


def lock_entries(path):
    """Each locked requirement as its text, continuation lines joined: 'name==1.0 --hash=sha256:… …'."""
    text = (ROOT / path).read_text().replace("\\\n", " ")
    return [line for line in text.splitlines() if PIN.match(line)]


@pytest.mark.parametrize(
    ("pins_file", "lock_file"),
    [("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt")],
)
def test_every_pin_is_locked_at_its_version(pins_file, lock_file):
    wanted, locked = pins(pins_file), pins(lock_file)
    assert wanted, f"{pins_file} has no pins"
    disagreements = {
        name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version
    }
    assert disagreements == {}, f"run `make lock`: {pins_file} and {lock_file} disagree (pin, lock): {disagreements}"


def test_the_development_lock_installs_what_production_installs():
    runtime, development = pins("requirements.txt"), pins("requirements-dev.txt")
    different = {
        name: (version, development.get(name)) for name, version in runtime.items() if development.get(name) != version
    }
    assert different == {}, f"run `make lock`: the development lock strays from the runtime lock: {different}"


@pytest.mark.parametrize("lock_file", ["requirements.txt", "requirements-dev.txt"])
def test_every_locked_package_carries_a_hash(lock_file):
    entries = lock_entries(lock_file)
    assert len(entries) > 20
    unhashed = [entry.split()[0] for entry in entries if not re.search(r"--hash=sha256:[0-9a-f]{64}", entry)]
    assert unhashed == []


def test_installs_refuse_anything_outside_the_lock():
    makefile, dockerfile = (ROOT / "Makefile").read_text(), (ROOT / "Dockerfile").read_text()
    assert "pip install --quiet --require-hashes --no-deps -r requirements-dev.txt" in makefile
    assert "pip install --require-hashes --no-deps -r /tmp/requirements.txt" in dockerfile
