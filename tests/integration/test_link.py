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
            "exec /usr/bin/pkg-config \"$@\"\n" % (lib / "pkgconfig", root))
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


# ---------------------------------------------------------------------------
# The recipes that download the release (board/openwrt, board/yocto): the
# tarball is made again from the commit of the version they name
# (board/releases), as a release makes it, and must have the hash they
# carry.

OPENWRT = os.path.join(REPO, "board", "openwrt", "clamhook")
YOCTO = os.path.join(REPO, "board", "yocto")
need_recipes = pytest.mark.skipif(
    not os.path.isdir(OPENWRT),
    reason="the OpenWrt and Yocto recipes are published beside a release "
    "tarball, not in it")


def openwrt_var(name):
    with open(os.path.join(OPENWRT, "Makefile")) as f:
        return re.search(r"(?m)^%s:=(.*)$" % name, f.read()).group(1)


def release_commit(version):
    """The commit board/releases names for version; its tag v<version>,
    where this clone has it, must name the same commit."""
    with open(os.path.join(REPO, "board", "releases")) as f:
        commits = dict(line.split() for line in f
                       if line.strip() and not line.startswith("#"))
    assert version in commits, "board/releases has no line for " + version
    commit = commits[version]
    r = _run(["git", "-C", REPO, "rev-parse", "-q", "--verify",
              "refs/tags/v%s^{commit}" % version])
    if r.returncode == 0:
        assert r.stdout.strip() == commit, "tag v%s is not %s" % (version,
                                                                  commit)
    return commit


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """{version, path, sha256}: clamhook-<version>.tar.gz made by `make
    dist` in a checkout of the release's commit (board/releases), the
    version the recipes name, with that commit's time."""
    version = openwrt_var("PKG_VERSION")
    commit = release_commit(version)
    r = _run(["git", "-C", REPO, "rev-parse", "--is-shallow-repository"])
    if r.stdout.strip() == "true" and _run(
            ["git", "-C", REPO, "cat-file", "-e", commit]).returncode:
        pytest.skip("a shallow clone: the release commit %s is not in it"
                    % commit)
    top = tmp_path_factory.mktemp("release")
    r = _run(["git", "-C", REPO, "log", "-1", "--format=%ct", commit])
    assert r.returncode == 0, "no commit %s in %s: %s" % (commit, REPO,
                                                          r.stderr)
    epoch = r.stdout.strip()
    r = subprocess.run("git -C '%s' archive %s | tar -x -C '%s'"
                       % (REPO, commit, top), shell=True, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["SOURCE_DATE_EPOCH"] = epoch
    r = _run(["make", "--no-print-directory", "dist"], cwd=str(top),
             env=env)
    assert r.returncode == 0, r.stderr
    path = top / ("clamhook-%s.tar.gz" % version)
    r = _run(["sha256sum", str(path)])
    return {"version": version, "path": path,
            "sha256": r.stdout.split()[0]}


def tree_files(root):
    """{relative path: mode} of the files under root."""
    return {os.path.relpath(os.path.join(d, n), root):
            os.lstat(os.path.join(d, n)).st_mode & 0o7777
            for d, _, ns in os.walk(root) for n in ns}


HOOKS = {"hook-common": 0o644, "mta-hook": 0o755, "postfix-filter": 0o755,
         "smtpd-mda": 0o755}


@need_recipes
def test_openwrt_package(tmp_path, sysroots, clamd, release):
    """The package Makefile run by a stand-in for OpenWrt's package.mk
    (tests/integration/openwrt): the tarball in dl/ checked against
    PKG_HASH, OpenWrt's MAKE_VARS and MAKE_FLAGS with the recipe's own,
    static musl against the feed's libinih (both libraries, found by
    OpenWrt's pkg-config wrapper on PATH), then the package's files,
    modes and conffiles."""
    assert openwrt_var("PKG_HASH") == release["sha256"]
    root, pc = sysroots["musl-both"]
    top = tmp_path / "openwrt"
    shutil.copytree(os.path.join(os.path.dirname(__file__), "openwrt"), top)
    shutil.copytree(OPENWRT, top / "package" / "clamhook")
    (top / "dl").mkdir()
    shutil.copy(release["path"], top / "dl")
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["PATH"] = root + ":" + env["PATH"]      # root/pkg-config
    ipkg = tmp_path / "ipkg"
    r = _run(["make", "--no-print-directory", "TOPDIR=%s" % top,
              "IPKG=%s" % ipkg, "TARGET_CC=musl-gcc", "TARGET_CROSS=",
              "TARGET_CFLAGS=-Os -pipe", "TARGET_LDFLAGS=-L%s/usr/lib" % root,
              "ARCH=x86_64", "all"],
             cwd=str(top / "package" / "clamhook"), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    want = {"usr/bin/clamhook": 0o755, "etc/clamhook.ini": 0o600,
            "etc/default/clamhook": 0o600, "etc/init.d/clamhook": 0o755,
            "usr/libexec/clamhook/S45clamhook": 0o755,
            "CONTROL/conffiles": 0o644}
    want.update({"usr/libexec/clamhook/" + n: m for n, m in HOOKS.items()})
    assert tree_files(ipkg) == want
    with open(ipkg / "CONTROL" / "conffiles") as f:
        conffiles = f.read().split()
    assert conffiles == ["/etc/clamhook.ini", "/etc/default/clamhook"]
    # The rc.common script runs the board's script where the package puts it.
    with open(ipkg / "etc" / "init.d" / "clamhook") as f:
        init = f.read()
    assert init.startswith("#!/bin/sh /etc/rc.common\n")
    assert re.search(r"(?m)^START=45$", init)
    s45 = re.search(r"(?m)^S45=(.*)$", init).group(1)
    assert os.path.isfile(str(ipkg) + s45)
    binary = str(ipkg / "usr" / "bin" / "clamhook")
    assert interpreter(binary) is None and needed(binary) == []
    r = _run([binary, "--version"])
    assert r.stdout == "clamhook %s\n" % release["version"]
    scans(binary, clamd, tmp_path)


def bitbake_recipe(path):
    """({variable: value}, {function: body}) of a recipe, in the plain
    forms this one uses: NAME = "value" (also ??=, ?=), and name() { }."""
    with open(path) as f:
        text = f.read()
    funcs = dict(re.findall(r"(?ms)^(\w+)\(\) \{\n(.*?)^\}$", text))
    text = re.sub(r"(?ms)^\w+\(\) \{\n.*?^\}$", "", text)
    text = text.replace("\\\n", "")
    var = {}
    for name, op, value in re.findall(
            r'(?m)^([\w:${}\[\]-]+) (\?\?=|\?=|=) "(.*)"$', text):
        if op == "=" or name not in var:
            var[name] = value
    return var, funcs


def bitbake_expand(value, var):
    while True:
        out = re.sub(r"\$\{([\w-]+)\}", lambda m: var[m.group(1)], value)
        if out == value:
            return out
        value = out


@need_recipes
def test_yocto_recipe(tmp_path, sysroots, clamd, release):
    """The recipe's own do_compile (oe_runmake, the default) and do_install
    run as bitbake runs them: its variables expanded with bitbake's paths,
    EXTRA_OEMAKE, a cross environment's CC, CFLAGS and LDFLAGS and
    pkg-config reading a sysroot where inih is shared-only (meta-oe's),
    the source unpacked into S after the SRC_URI and LIC_FILES_CHKSUM
    checks; then what lands in D, packaged as the recipe says."""
    [bb] = [os.path.join(d, n) for d, _, ns in os.walk(YOCTO) for n in ns
            if n.endswith(".bb")]
    pn, pv = re.fullmatch(r"(\w+)_([\d.]+)\.bb", os.path.basename(bb)).groups()
    assert (pn, pv) == ("clamhook", release["version"])
    var, funcs = bitbake_recipe(bb)
    work = tmp_path / "work"
    var.update(PN=pn, PV=pv, BP="%s-%s" % (pn, pv), WORKDIR=str(work),
               S=str(work / ("%s-%s" % (pn, pv))), D=str(work / "image"),
               prefix="/usr", bindir="/usr/bin", libexecdir="/usr/libexec",
               mandir="/usr/share/man", sysconfdir="/etc",
               INIT_D_DIR="/etc/init.d",
               **{"VIRTUAL-RUNTIME_base-utils": "busybox"})
    assert var["SRC_URI[sha256sum]"] == release["sha256"]
    assert bitbake_expand(var["SRC_URI"], var).endswith(
        "/" + os.path.basename(release["path"]))
    assert var["DEPENDS"] == "libinih"
    with open(bb) as f:
        assert re.search(r"(?m)^inherit pkgconfig\b", f.read())
    work.mkdir()
    subprocess.run(["tar", "-xzf", str(release["path"]), "-C", str(work)],
                   check=True, timeout=60)
    lic, md5 = re.fullmatch(r"file://(\S+);md5=(\w+)",
                            var["LIC_FILES_CHKSUM"]).groups()
    assert _run(["md5sum", os.path.join(var["S"], lic)]).stdout.split()[0] \
        == md5

    root, _ = sysroots["glibc-shared"]
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(CC="gcc -m64 -march=x86-64",
               CFLAGS="-O2 -pipe -g -feliminate-unused-debug-types",
               LDFLAGS="-Wl,-O1 -Wl,--hash-style=gnu -Wl,--as-needed "
               "-Wl,-z,relro,-z,now", STRIP="strip",
               PKG_CONFIG_PATH=root + "/usr/lib/pkgconfig",
               PKG_CONFIG_LIBDIR=root + "/usr/lib/pkgconfig",
               PKG_CONFIG_SYSROOT_DIR=root)
    script = "set -e\noe_runmake() { make -j2 %s \"$@\"; }\ncd %s\n%s\n%s" % (
        bitbake_expand(var["EXTRA_OEMAKE"], var), var["S"],
        bitbake_expand(funcs.get("do_compile", "oe_runmake\n"), var),
        bitbake_expand(funcs["do_install"], var))
    r = subprocess.run(["sh", "-c", script], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr

    image = var["D"]
    want = {"usr/bin/clamhook": 0o755, "etc/clamhook.ini": 0o644,
            "etc/default/clamhook": 0o644, "etc/init.d/clamhook": 0o755,
            "usr/share/man/man1/clamhook.1": 0o644,
            "usr/share/man/man5/clamhook.ini.5": 0o644}
    want.update({"usr/libexec/clamhook/" + n: m for n, m in HOOKS.items()})
    assert tree_files(image) == want
    for path in bitbake_expand(var["CONFFILES:${PN}"], var).split():
        assert os.path.isfile(image + path), path
    assert os.path.isfile(os.path.join(
        image + var["INIT_D_DIR"], var["INITSCRIPT_NAME"]))
    binary = os.path.join(image, "usr", "bin", "clamhook")
    assert interpreter(binary) == "/lib64/ld-linux-x86-64.so.2"
    assert [n for n in needed(binary) if "inih" in n] == ["libinih.so.1"]
    assert "not stripped" in _run(["file", "-b", binary]).stdout  # -dbg
    assert "(GNU_HASH)" in _run(["readelf", "-dW", binary]).stdout  # LDFLAGS
    scans(binary, clamd, tmp_path, os.path.join(root, "usr", "lib"))
