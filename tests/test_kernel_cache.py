"""The kernel caches: where compiled code goes, what they trust, and that they never fail a fit.

Two caches hold compiled code between processes: fastnn's directory of generated
per-layout modules (:mod:`fastnn.codegen.cache`) and Numba's cache of machine code,
for the package's kernels and for those modules (:mod:`fastnn.kernels.disk_cache`). A
directory or an entry that cannot be used costs a compile and one warning, never a
failure, and nothing is loaded from a place another user could have written.

Each case runs in a fresh process with its own cache directories, on a tiny
network whose loops compile in a second or two.
"""

import ast
import importlib
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fastnn import MLP, optimizers
from fastnn.codegen import cache as loop_cache
from fastnn.codegen import generator
from fastnn.kernels import disk_cache

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# A fit that takes the generated loop (a register-mode one: quick to compile) and
# the package's kernels; it prints "trained" and the warnings it saw, one per line.
FIT = textwrap.dedent(
    """
    import warnings
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as seen:
        import numpy as np
        from fastnn import MLP
        net = MLP([2, 3, 2], seed=0, dtype="float64", specialise=True)
        net.fit(np.eye(2)[[0, 1, 0, 1]], [0, 1, 0, 1], epochs=2)
    assert np.isfinite(net.theta).all()
    print("trained")
    for warning in seen:
        print("WARNING", warning.category.__name__, str(warning.message).replace("\\n", " "))
    """
)


def run_python(code, env, cwd=None, prefix=()):
    """Run ``code`` in a fresh interpreter; return the completed process."""
    return subprocess.run(
        [*prefix, sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def clean_env(tmp_path, **extra):
    """The environment of a child with its own caches (and no inherited cache settings)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NUMBA_CACHE_DIR", "FASTNN_KERNEL_CACHE", "XDG_CACHE_HOME", "TMPDIR")
    }
    env["HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def warnings_of(result):
    return [line for line in result.stdout.splitlines() if line.startswith("WARNING")]


def assert_trained(result):
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trained" in result.stdout, result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


def spec_and_text():
    """The spec and module text of FIT's generated loop (as this process makes them)."""
    net = MLP([2, 3, 2], seed=0, dtype="float64")
    opt = optimizers.SGD()
    spec = loop_cache.spec_for(
        net.sizes, net.layout, net.loss_code, net.dtype, opt.code, opt.hyper_vector("float64")
    )
    return spec, loop_cache.source_text(spec)


def module_names(spec, text):
    """The module file names of the loop: as fastnn names it, and as older versions did."""
    import hashlib

    digest = hashlib.sha256(text.encode())
    return [
        f"{loop_cache.file_stem(spec)}_{digest.hexdigest()[:16]}.py",
        f"fastnn_generated_{digest.hexdigest()[:20]}.py",
    ]


# --------------------------------------------------------------------------- names


def test_cache_files_are_named_by_what_they_hold(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNN_KERNEL_CACHE", str(tmp_path))
    spec, text = spec_and_text()
    loop_cache._import(spec)
    (path,) = tmp_path.glob("fastnn_*.py")
    assert path.name.startswith("fastnn_2-3-2_float64_sgd_relu_softmax_")
    assert path.read_text() == text


def test_the_fingerprint_hashes_every_module_that_writes_the_loops():
    # A change to any room of the generator must give the generated modules new
    # files; the rooms that do not write loop text (cache, policy) need not.
    codegen = ROOT / "fastnn" / "codegen"
    writers = set(codegen.glob("*.py")) - {
        codegen / name for name in ("__init__.py", "cache.py", "policy.py")
    }
    assert {path.resolve() for path in generator.source_files()} == {
        path.resolve() for path in writers
    }


@pytest.mark.parametrize(
    "sizes, hidden, output, dtype, optimizer",
    [
        ([2, 3, 2], "relu", "softmax", "float64", "sgd"),  # register mode
        ([70, 17, 3], "sigmoid", "sigmoid", "float32", "adam"),  # memory mode, pipelined
        ([5, 300, 4, 1], "tanh", "identity", "float64", "rmsprop"),  # a streamed layer
        ([784, 1024, 10], "leaky_relu", "softmax", "float32", "sgd"),
    ],
)
def test_every_import_the_generated_module_makes_resolves(sizes, hidden, output, dtype, optimizer):
    net = MLP(sizes, hidden, output, dtype=dtype, seed=0)
    text = net.kernel_source(optimizer)
    tree = ast.parse(text)
    imported = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
                imported += 1
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
    assert imported > 10
    # and the whole module runs (its kernels compile only when called)
    namespace = {"__name__": "generated_under_test"}
    exec(compile(text, "<generated>", "exec"), namespace)
    assert callable(namespace["train_epoch"]) and callable(namespace["train_models"])


@pytest.mark.parametrize("sizes", [[784, 4096, 10], [784, 256, 128, 10], [4096] * 8])
def test_generated_modules_stay_short_whatever_the_widths(sizes):
    for dtype in ("float32", "float64"):
        for optimizer in ("sgd", "adam_amsgrad", "rmsprop_centered_momentum"):
            for bits in (128, 256, 512):
                spec = generator.Spec(
                    sizes=tuple(sizes),
                    activations=(1,) * (len(sizes) - 2),
                    loss_code=1,
                    dtype=dtype,
                    optimizer=optimizer,
                    lanes=generator.lanes_for(dtype, bits),
                    registers=generator.registers_for(bits),
                    flush_to_zero=True,
                )
                lines = generator.source(spec).count("\n")
                assert lines < 1500, (sizes, dtype, optimizer, bits, lines)


def fill_cache(tmp_path, **extra):
    """Run FIT once with empty caches under ``tmp_path``; return its environment."""
    env = clean_env(
        tmp_path,
        NUMBA_CACHE_DIR=str(tmp_path / "numba"),
        FASTNN_KERNEL_CACHE=str(tmp_path / "kernels"),
        **extra,
    )
    result = run_python(FIT, env)
    assert_trained(result)
    assert warnings_of(result) == []
    return env


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A Numba cache and a kernel cache that FIT filled, to copy from."""
    base = tmp_path_factory.mktemp("filled")
    fill_cache(base)
    return base


def copy_filled(filled, tmp_path):
    for name in ("numba", "kernels"):
        shutil.copytree(filled / name, tmp_path / name, symlinks=True)
    return clean_env(
        tmp_path,
        NUMBA_CACHE_DIR=str(tmp_path / "numba"),
        FASTNN_KERNEL_CACHE=str(tmp_path / "kernels"),
    )


def filled_numba(filled, tmp_path):
    """A copy of the filled Numba cache: the package's kernels load, nothing else is there."""
    shutil.copytree(filled / "numba", tmp_path / "numba", symlinks=True)
    return str(tmp_path / "numba")


# --------------------------------------------------------------------------- trust


def test_trusted_directories_are_private_real_directories(tmp_path):
    mine = tmp_path / "mine"
    assert disk_cache.private_directory(str(mine)) is None
    assert stat.S_IMODE(os.stat(mine).st_mode) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert "other users" in disk_cache.trusted_directory(str(shared))
    link = tmp_path / "link"
    link.symlink_to(mine)
    assert "symbolic link" in disk_cache.trusted_directory(str(link))
    plain = tmp_path / "file"
    plain.write_text("")
    assert "not a directory" in disk_cache.trusted_directory(str(plain))


def test_a_world_writable_fallback_in_tmp_is_never_used(filled, tmp_path):
    # No usable ~/.cache; a planted, world-writable /tmp/fastnn-kernels-<uid> with a
    # .pyc that would run the attacker's code if imported (unchecked-hash pyc).
    (tmp_path / "file").write_text("")
    temporary = tmp_path / "tmp"
    planted = temporary / f"fastnn-kernels-{os.getuid()}"
    (planted / "__pycache__").mkdir(parents=True)
    marker = tmp_path / "PWNED"
    spec, text = spec_and_text()
    payload = f"open({str(marker)!r}, 'w').write('ran')\n"
    import importlib.util
    import marshal

    for name in module_names(spec, text):
        (planted / name).write_text(text)
        code = compile(payload, name, "exec")
        header = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + b"\0" * 8
        stem = name[:-3]
        (planted / "__pycache__" / f"{stem}.{sys.implementation.cache_tag}.pyc").write_bytes(
            header + marshal.dumps(code)
        )
    for path in [planted, planted / "__pycache__", *planted.rglob("*")]:
        path.chmod(0o777)
    env = clean_env(
        tmp_path,
        HOME=str(tmp_path / "file" / "home"),
        TMPDIR=str(temporary),
        NUMBA_CACHE_DIR=filled_numba(filled, tmp_path),
    )
    result = run_python(FIT, env)
    assert_trained(result)
    assert not marker.exists(), "fastnn ran code planted in a world-writable directory"
    assert any("private temporary directory" in line for line in warnings_of(result))
    assert sorted(p.name for p in planted.iterdir()) == sorted(
        [*module_names(spec, text), "__pycache__"]
    )


def test_a_symbolic_link_planted_in_the_cache_is_replaced_not_written_through(filled, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    spec, text = spec_and_text()
    for name in module_names(spec, text):
        (cache / name).symlink_to(victim)
    env = clean_env(
        tmp_path, FASTNN_KERNEL_CACHE=str(cache), NUMBA_CACHE_DIR=filled_numba(filled, tmp_path)
    )
    result = run_python(FIT, env)
    assert_trained(result)
    assert victim.read_text() == "precious\n"
    new_name = module_names(spec, text)[0]
    assert not (cache / new_name).is_symlink()
    assert (cache / new_name).read_text() == text


# --------------------------------------------------------------------------- failures


def test_corrupt_numba_cache_entries_are_removed_and_compiled_again(filled, tmp_path):
    env = copy_filled(filled, tmp_path)
    indexes = sorted((tmp_path / "numba").rglob("*.nbi"))
    data = sorted((tmp_path / "numba").rglob("*.nbc"))
    assert len(indexes) >= 3 and len(data) >= 3
    # Every entry broken, by turns: an empty index, a truncated one, garbage in the data
    # files of an intact index, data files cut short: whichever entries the fit loads
    # are broken, one way or another.
    for number, index in enumerate(indexes):
        stem = index.name[: -len(".nbi")]
        entries = sorted(index.parent.glob(f"{stem}.*.nbc"))
        if number % 4 == 0:
            index.write_bytes(b"")
        elif number % 4 == 1:
            index.write_bytes(index.read_bytes()[:20])
        for entry in entries if number % 4 >= 2 else []:
            whole = entry.read_bytes()
            entry.write_bytes(b"\x80\x05junk" if number % 4 == 2 else whole[: len(whole) // 2])
    first = run_python(FIT, env)
    assert_trained(first)
    found = warnings_of(first)
    assert found and all("KernelCacheWarning" in line for line in found)
    assert any("unreadable entry" in line and "removed" in line for line in found)
    # the entries were written again: the next process loads them without a word
    second = run_python(FIT, env)
    assert_trained(second)
    assert warnings_of(second) == []


def test_a_full_disk_costs_a_warning_not_the_fit(filled, tmp_path):
    # ENOSPC from inside Numba's write of a cache entry.
    code = (
        "import errno\n"
        "from numba.core import caching\n"
        "def full(self, *args):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "caching.IndexDataCacheFile._save_data = full\n" + FIT
    )
    env = copy_filled(filled, tmp_path)
    shutil.rmtree(tmp_path / "kernels")  # the generated loop compiles, and cannot be saved
    result = run_python(code, env)
    assert_trained(result)
    found = warnings_of(result)
    assert len(found) == 1 and "No space left on device" in found[0]


@pytest.mark.skipif(not IS_ROOT or shutil.which("unshare") is None, reason="needs root")
def test_a_full_tmpfs_costs_a_warning_not_the_fit(filled, tmp_path):
    # The same with a real file system: a tmpfs, in a mount namespace of the child's
    # own, holding the filled cache of the package's kernels and little more room.
    mount = tmp_path / "tiny"
    mount.mkdir(mode=0o700)
    script = tmp_path / "fit.py"
    script.write_text(FIT)
    used = sum(path.stat().st_size for path in (filled / "numba").rglob("*") if path.is_file())
    pages = sum(1 for _ in (filled / "numba").rglob("*"))  # a page or so per file
    size = used + 4096 * pages + 16 * 1024
    env = clean_env(
        tmp_path, NUMBA_CACHE_DIR=str(mount), FASTNN_KERNEL_CACHE=str(mount / "kernels")
    )
    shell = (
        f"mount -t tmpfs -o size={size},mode=0700 tmpfs {mount} || exit 77; "
        f"cp -r {filled / 'numba'}/. {mount}/ || exit 77; exec {sys.executable} {script}"
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", shell], env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode == 77:
        pytest.skip("cannot mount a tmpfs here")
    assert_trained(result)
    assert any("No space left on device" in line for line in warnings_of(result))


def test_an_unusable_fastnn_kernel_cache_costs_a_warning_not_the_fit(filled, tmp_path):
    (tmp_path / "file").write_text("")
    env = clean_env(
        tmp_path,
        FASTNN_KERNEL_CACHE=str(tmp_path / "file" / "kernels"),
        NUMBA_CACHE_DIR=filled_numba(filled, tmp_path),
    )
    result = run_python(FIT, env)
    assert_trained(result)
    found = warnings_of(result)
    assert len(found) == 1 and "FASTNN_KERNEL_CACHE=" in found[0]


def test_an_unusable_kernel_cache_at_the_command_line_is_not_a_traceback(tmp_path):
    (tmp_path / "file").write_text("")
    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    np.savez(data, x_train=rng.random((40, 3)), t_train=rng.integers(0, 2, 40))
    env = clean_env(tmp_path, FASTNN_KERNEL_CACHE=str(tmp_path / "file" / "kernels"))
    result = subprocess.run(
        [sys.executable, "-m", "fastnn", "train", "--data", str(data), "--sizes", "4",
         "--epochs", "1", "--quiet"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "trained in" in result.stdout


def test_a_read_only_cache_filled_in_advance_is_used(filled, tmp_path):
    env = copy_filled(filled, tmp_path)
    prefix = ()
    if IS_ROOT:
        # root writes through permissions: make the copies read-only file systems
        if shutil.which("unshare") is None:
            pytest.skip("needs unshare to make a read-only mount as root")
        binds = " && ".join(
            f"mount --bind {path} {path} && mount -o remount,ro,bind {path}"
            for path in (tmp_path / "numba", tmp_path / "kernels")
        )
        script = tmp_path / "fit.py"
        script.write_text(FIT)
        result = subprocess.run(
            ["unshare", "-m", "sh", "-c", f"{binds} || exit 77; exec {sys.executable} {script}"],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if result.returncode == 77:
            pytest.skip("cannot make a read-only bind mount here")
    else:
        for path in [*(tmp_path / "numba").rglob("*"), *(tmp_path / "kernels").rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        result = run_python(FIT, env, prefix=prefix)
    assert_trained(result)
    assert warnings_of(result) == []  # everything was there: nothing to write


# --------------------------------------------------------------------------- no home


def read_only_package(tmp_path):
    """A copy of fastnn whose directories cannot be written (kernels' __pycache__ neither)."""
    package = tmp_path / "site" / "fastnn"
    shutil.copytree(ROOT / "fastnn", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "kernels", package / "kernels", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path / "site"


NO_PASSWD = (
    "import pwd\n"
    "def no_entry(uid):\n"
    "    raise KeyError(f'getpwuid(): uid not found: {uid}')\n"
    "pwd.getpwuid = no_entry\n"
)


@pytest.mark.parametrize("home", ["unusable", "no passwd entry"])
def test_import_version_and_fit_work_with_no_writable_cache_anywhere(tmp_path, home):
    # A read-only install (the kernels' __pycache__ cannot be written), run from a
    # read-only directory, with no usable home: no directory can hold compiled code.
    site = read_only_package(tmp_path)
    env = clean_env(tmp_path, PYTHONPATH=str(site))
    prelude = ""
    if home == "unusable":
        (tmp_path / "file").write_text("")
        env["HOME"] = str(tmp_path / "file" / "home")  # cannot be created, even by root
    else:  # a uid with no passwd entry (containers, service accounts) and no HOME
        del env["HOME"]
        prelude = NO_PASSWD
    code = (
        prelude
        + "import fastnn\nprint('imported', fastnn.__file__)\n"
        + "import contextlib, io\nfrom fastnn.cli import main\nshown = io.StringIO()\n"
        + "with contextlib.redirect_stdout(shown):\n    try:\n        main(['--version'])\n"
        + "    except SystemExit as stop:\n        assert stop.code in (0, None)\n"
        + "assert fastnn.__version__ in shown.getvalue()\n"
        + FIT
    )
    script = tmp_path / "check.py"
    script.write_text(code)
    result = None
    if IS_ROOT and shutil.which("unshare") is not None:
        # root writes through permissions: make the copy a read-only file system
        shell = (
            f"mount --bind {site} {site} && mount -o remount,ro,bind {site} || exit 77; "
            f"cd {site} && exec {sys.executable} {script}"
        )
        result = subprocess.run(
            ["unshare", "-m", "sh", "-c", shell], env=env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        if result.returncode == 77:
            result = None
    if result is None:
        for path in [site, *site.rglob("*")]:
            if path.is_dir():
                path.chmod(0o555)
        try:
            result = run_python(code, env, cwd=site)
        finally:
            for path in [site, *site.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
    assert_trained(result)
    assert f"imported {site}" in result.stdout
    found = warnings_of(result)
    assert found and all("KernelCacheWarning" in line for line in found)


# --------------------------------------------------------------------------- compile notices


def test_fit_says_once_before_the_first_epoch_that_it_compiles(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FASTNN_KERNEL_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 3)), rng.integers(0, 2, 30)
    # a layout no other test trains: its loop compiles here
    net = MLP([3, 7, 2], hidden="tanh", dtype="float64", seed=0, specialise=True)
    net.fit(X, y, epochs=2, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("compiling the loop generated for 3-7-2 float64, sgd, once; ")
    assert "cached in" in lines[0] or "memory" in lines[0]
    assert [line for line in lines if line.startswith("compiling")] == [lines[0]]
    assert lines[1].startswith("epoch 1/2") and lines[2].startswith("epoch 2/2")
    # compiled now: nothing to say
    MLP([3, 7, 2], hidden="tanh", dtype="float64", seed=1, specialise=True).fit(X, y, verbose=1)
    assert not any(line.startswith("compiling") for line in capsys.readouterr().out.splitlines())


def test_the_command_line_notes_compilation_only_when_it_happened(tmp_path, monkeypatch, capsys):
    from fastnn import codegen
    from fastnn.cli import main

    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    np.savez(data, x_train=rng.random((40, 3)), t_train=rng.integers(0, 2, 40))
    command = ["train", "--data", str(data), "--sizes", "4", "--epochs", "1", "--quiet"]
    run = codegen.CompileWatch.run

    def as_if_compiling(self, description, kernel, call):
        # what a compile looks like to the watch, without the wait
        self._current = (description, kernel)
        self._on_start()
        self._on_end()
        return run(self, description, kernel, call)

    monkeypatch.setattr(codegen.CompileWatch, "run", as_if_compiling)
    assert main(command) == 0
    out = capsys.readouterr().out
    compiling = [line for line in out.splitlines() if "compiling" in line]
    assert len(compiling) == 1 and compiling[0].startswith("fastnn train: compiling ")
    assert "including compilation" in out.splitlines()[-1]
    monkeypatch.setattr(codegen.CompileWatch, "run", run)
    main(command)  # compiled already: a fit like any other
    out = capsys.readouterr().out
    assert "compiling" not in out and "including compilation" not in out
