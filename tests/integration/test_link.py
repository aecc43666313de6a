# SPDX-License-Identifier: ISC
"""Builds that link wherever a firmware recipe sends them (SPEC §8), each
made with the make invocation a recipe runs and then scanning through a
real clamd:

- glibc or musl, static or dynamic;
- inih from Debian (libinih.a and libinih.so), or from a sysroot staged
  as Buildroot and meta-oe stage it, shared-only: libinih.so and inih.pc,
  found through a pkg-config that reads only the sysroot (Buildroot's
  pkgconf wrapper does the same), or both libraries (the OpenWrt feed's);
- a static link against a shared-only inih stops with one line naming
  STATIC=0, never with a linker clash;
- Buildroot's recipe (board/package/clamhook/clamhook.mk): its make
  words, read from the file, with and without BR2_STATIC_LIBS, installed
  into a staging TARGET_DIR, where the files land and the binary scans.

The sysroot's musl libinih.so is linked here with musl-gcc from the
objects of Debian's libinih.a (inih is a dependency: no source of it is
kept anywhere).  Each build runs in a private copy of the tree.  Built on
the host, so run in the plain host pass only.
"""

import os
import re
import shutil
import subprocess

import pytest

import support
from conftest import REPO, only_in_plain_host_pass
from eicar import eicar

only_in_plain_host_pass("link builds", "they build host binaries of their "
                        "own")

DEBIAN_LIB = "/usr/lib/x86_64-linux-gnu"
pytestmark = pytest.mark.skipif(
    os.uname().machine != "x86_64",
    reason="the link builds use Debian's x86_64 inih and musl-gcc")

# A recipe's environment is its own: none of the caller's make variables.
CLEARED = """MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS CC CFLAGS
    CPPFLAGS LDFLAGS CROSS_COMPILE TARGET PKG_CONFIG STRIP PREFIX STATIC
    INIH_CFLAGS INIH_LIBS SANITIZE V BUILDDIR PKG_CONFIG_PATH
    PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR""".split()

PC = """prefix=/usr
libdir=${prefix}/lib
includedir=${prefix}/include

Name: inih
Description: simple .INI file parser
Version: 56
Libs: -L${libdir} -linih
Cflags: -I${includedir}
"""


def _run(argv, cwd=None, env=None, timeout=300):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sysroots(tmp_path_factory):
    """{name: (sysroot, its pkg-config wrapper)}: glibc-shared and
    musl-shared hold libinih.so only; musl-both holds libinih.a too."""
    top = tmp_path_factory.mktemp("sysroots")
    objs = top / "objs"
    objs.mkdir()
    r = _run(["ar", "x", DEBIAN_LIB + "/libinih.a"], cwd=str(objs))
    assert r.returncode == 0, r.stderr
    musl_so = top / "libinih-musl.so"
    r = _run(["musl-gcc", "-shared", "-Wl,-soname,libinih.so.0", "-o",
              str(musl_so)] + sorted(str(p) for p in objs.iterdir()))
    assert r.returncode == 0, r.stderr
    out = {}
    for name, so, archive in (
            ("glibc-shared", DEBIAN_LIB + "/libinih.so.1", None),
            ("musl-shared", str(musl_so), None),
            ("musl-both", str(musl_so), DEBIAN_LIB + "/libinih.a")):
        root = top / name
        lib = root / "usr" / "lib"
        (lib / "pkgconfig").mkdir(parents=True)
        (root / "usr" / "include").mkdir()
        shutil.copy("/usr/include/ini.h", root / "usr" / "include")
        soname = os.path.basename(so) if so.endswith(".so.1") \
            else "libinih.so.0"
        shutil.copy(so, lib / soname)
        os.symlink(soname, lib / "libinih.so")
        if archive:
            shutil.copy(archive, lib / "libinih.a")
        (lib / "pkgconfig" / "inih.pc").write_text(PC)
        wrapper = root / "pkg-config"
        wrapper.write_text(
            "#!/bin/sh\nPKG_CONFIG_LIBDIR=%s PKG_CONFIG_SYSROOT_DIR=%s "
            "exec pkg-config \"$@\"\n" % (lib / "pkgconfig", root))
        wrapper.chmod(0o755)
        out[name] = (str(root), str(wrapper))
    return out


def build(tmp_path, *args):
    """make args in a private copy of the tree; the CompletedProcess and
    the binary's path."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("Makefile", "LICENSE", "src", "toolchain", "board"):
        src = os.path.join(REPO, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(
            src, tree / name)
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    r = _run(["make", "-j2", "--no-print-directory", "CFLAGS=-O2 -g"] +
             list(args), cwd=str(tree), env=env)
    return r, str(tree / "build" / "x86_64" / "clamhook")


def interpreter(path):
    r = _run(["readelf", "-lW", path])
    return next((s.split(":", 1)[1].strip(" ]") for s in r.stdout.splitlines()
                 if "Requesting program interpreter" in s), None)


def needed(path):
    r = _run(["readelf", "-dW", path])
    return [s.split("[", 1)[1].rstrip("]") for s in r.stdout.splitlines()
            if "(NEEDED)" in s]


def scans(binary, clamd, tmp_path, libdir=None):
    """The binary finds EICAR (1, its name) and passes a clean message (0)
    through the real clamd."""
    ini = tmp_path / "c.ini"
    ini.write_text("[clamd]\nserver = %s\nstate_file =\n"
                   % clamd.server("tcp"))
    env = {"PATH": "/usr/bin:/bin"}
    if libdir:
        env["LD_LIBRARY_PATH"] = libdir
    for data, status, out in (
            (b"Subject: hi\n\nclean\n", 0, "\n"),
            (b"Subject: hi\n\n" + eicar() + b"\n", 1,
             "Virus-Test: True ; %s\n" % support.EICAR_NAME)):
        r = subprocess.run([binary, "-c", str(ini)], input=data, env=env,
                           capture_output=True, timeout=30)
        assert (r.returncode, r.stdout.decode(), r.stderr) == \
            (status, out, b""), r


def test_static_with_shared_only_inih_names_static_0(tmp_path, sysroots):
    """musl-gcc, like a cross compiler with --sysroot, looks in no host
    library directory (the host's gcc would find Debian's libinih.a)."""
    root, pc = sysroots["musl-shared"]
    r, binary = build(tmp_path, "CC=musl-gcc", "PKG_CONFIG=" + pc,
                      "STATIC=1")
    assert r.returncode != 0
    lines = [s for s in r.stderr.splitlines() if not s.startswith("make")]
    assert lines == ["clamhook: inih has no static library (libinih.a) "
                     "here; build with STATIC=0 to link it dynamically"], \
        r.stderr
    assert not os.path.exists(binary)


@pytest.mark.parametrize("cc,loader", [
    ("gcc", "/lib64/ld-linux-x86-64.so.2"),
    ("musl-gcc", "/lib/ld-musl-x86_64.so.1")])
def test_dynamic_with_shared_only_inih(tmp_path, sysroots, clamd, cc,
                                       loader):
    """Buildroot's (STATIC=0 without BR2_STATIC_LIBS) and Yocto's link."""
    root, pc = sysroots["glibc-shared" if cc == "gcc" else "musl-shared"]
    r, binary = build(tmp_path, "CC=" + cc, "PKG_CONFIG=" + pc, "STATIC=0")
    assert r.returncode == 0, r.stderr
    assert interpreter(binary) == loader
    assert [n for n in needed(binary) if "inih" in n] == [
        "libinih.so.1" if cc == "gcc" else "libinih.so.0"]
    scans(binary, clamd, tmp_path, os.path.join(root, "usr", "lib"))


def test_musl_static_with_both_libraries(tmp_path, sysroots, clamd):
    """OpenWrt's feed installs both: the static link takes libinih.a."""
    root, pc = sysroots["musl-both"]
    r, binary = build(tmp_path, "CC=musl-gcc", "PKG_CONFIG=" + pc)
    assert r.returncode == 0, r.stderr
    assert interpreter(binary) is None and needed(binary) == []
    scans(binary, clamd, tmp_path)


@pytest.mark.parametrize("static", ["1", "0"])
def test_glibc_with_debian_inih(tmp_path, clamd, static):
    """glibc static (the allocator shim stays out of glibc's libc.a) and
    dynamic, inih from the host's pkg-config."""
    r, binary = build(tmp_path, "CC=gcc", "PKG_CONFIG=pkg-config",
                      "STATIC=" + static)
    assert r.returncode == 0, r.stderr
    assert "multiple definition" not in r.stderr
    if static == "1":
        assert interpreter(binary) is None
    else:
        assert "libinih.so.1" in needed(binary)
    scans(binary, clamd, tmp_path)


# ---------------------------------------------------------------------------
# Buildroot's recipe (board/package/clamhook/clamhook.mk): its make words,
# read from the file, run as Buildroot runs them into a staging TARGET_DIR.

BR_MK = os.path.join(REPO, "board", "package", "clamhook", "clamhook.mk")


def br_recipe():
    """(version, make options with BR2_STATIC_LIBS=y, without, install
    goals) as clamhook.mk writes them."""
    with open(BR_MK) as f:
        text = f.read().replace("\\\n", " ")
    var = dict(re.findall(r"(?m)^(CLAMHOOK_\w+) = (.*)$", text))
    opts = var["CLAMHOOK_MAKE_OPTS"]
    cond = "$(if $(BR2_STATIC_LIBS),1,0)"
    first, *with_static = opts.replace(cond, "1").split()
    assert first == "$(TARGET_CONFIGURE_OPTS)", opts
    install = re.search(r"DESTDIR=\$\(TARGET_DIR\) (.*)", text).group(1)
    return (var["CLAMHOOK_VERSION"], with_static,
            opts.replace(cond, "0").split()[1:], install.split())


def test_buildroot_recipe_version_is_the_trees():
    with open(os.path.join(REPO, "src", "VERSION")) as f:
        assert br_recipe()[0] == f.read().strip()


@pytest.mark.parametrize("static_libs", [True, False])
def test_buildroot_recipe_installs_and_scans(tmp_path, sysroots, clamd,
                                             static_libs):
    """BR2_STATIC_LIBS=y (inih static and shared) and the default shared
    libraries (inih shared-only): built with TARGET_CONFIGURE_OPTS' kind
    of variables and the recipe's own, installed into TARGET_DIR."""
    _, with_static, without, goals = br_recipe()
    root, pc = sysroots["musl-both" if static_libs else "musl-shared"]
    configure = ["CC=musl-gcc", "CFLAGS=-Os -g0", "LDFLAGS=",
                 "PKG_CONFIG=" + pc, "STRIP=strip"]
    opts = configure + (with_static if static_libs else without)
    r, binary = build(tmp_path, *opts)
    assert r.returncode == 0, r.stderr
    target = tmp_path / "target"
    r = _run(["make", "--no-print-directory"] + opts +
             ["DESTDIR=%s" % target] + goals, cwd=str(tmp_path / "tree"))
    assert r.returncode == 0, r.stderr
    got = sorted(os.path.relpath(os.path.join(d, n), target)
                 for d, _, ns in os.walk(target) for n in ns)
    assert got == [
        "etc/clamhook.ini", "etc/default/clamhook",
        "usr/bin/clamhook", "usr/libexec/clamhook/hook-common",
        "usr/libexec/clamhook/mta-hook", "usr/libexec/clamhook/postfix-filter",
        "usr/libexec/clamhook/smtpd-mda", "usr/share/man/man1/clamhook.1",
        "usr/share/man/man5/clamhook.ini.5"]
    installed = str(target / "usr" / "bin" / "clamhook")
    if static_libs:
        assert interpreter(installed) is None
        scans(installed, clamd, tmp_path)
    else:
        assert interpreter(installed) == "/lib/ld-musl-x86_64.so.1"
        scans(installed, clamd, tmp_path, os.path.join(root, "usr", "lib"))
