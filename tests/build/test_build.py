# SPDX-License-Identifier: ISC
"""The build interface (SPEC §8): every way Buildroot, OpenWrt and Yocto
pass things to the Makefile, each shown by a build that uses it.

Every build runs in a private copy of the tree (what `make dist` packs)
taken once per session, with an environment cleared of the
variables under test, so nothing here touches the working tree or depends
on the caller's make flags.
"""

import os
import re
import shutil
import subprocess
import tarfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MUSL_SPECS = "/usr/lib/x86_64-linux-musl/musl-gcc.specs"
DEBIAN_INIH = "/usr/lib/x86_64-linux-gnu/libinih.a"
EPOCH = "1700000000"

# Variables a caller (or `make check` itself) may have set that would change
# what these builds test.
CLEARED = """MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS CC CFLAGS
    CPPFLAGS LDFLAGS CROSS_COMPILE TARGET ARCH PKG_CONFIG STRIP PREFIX prefix
    exec_prefix bindir DESTDIR INIH_CFLAGS INIH_LIBS STATIC SANITIZE V CI
    WERROR BUILDDIR VERSION QEMU MULTIARCH SOURCE_DATE_EPOCH PKG_CONFIG_PATH
    PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR""".split()

HOST = os.uname().machine
pytestmark = pytest.mark.skipif(
    HOST != "x86_64", reason="the build tests use Debian's x86_64 musl-gcc")


def file_of(path):
    return subprocess.run(["file", "-b", path], capture_output=True,
                          text=True, check=True).stdout


def script(path, text):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + text)
    os.chmod(path, 0o755)
    return str(path)


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory):
    """The build inputs, copied once: the tree changes while others work."""
    d = tmp_path_factory.mktemp("snapshot")
    for name in (".ci", "Makefile", "README.md", "LICENSE", "toolchain",
                 "src", "board", "tests"):
        src = os.path.join(REPO, name)
        if os.path.isdir(src):
            shutil.copytree(src, d / name, ignore=shutil.ignore_patterns(
                "__pycache__", ".pytest_cache"))
        else:
            shutil.copy2(src, d / name)
    return d


class Tree:
    """A private copy of the tree and a make that runs in it."""

    def __init__(self, snapshot, path):
        shutil.copytree(snapshot, path)
        self.path = str(path)

    def make(self, *args, env=None, check=True):
        e = {k: v for k, v in os.environ.items() if k not in CLEARED}
        e["SOURCE_DATE_EPOCH"] = EPOCH
        e.update(env or {})
        r = subprocess.run(["make", "-j2", "--no-print-directory"] +
                           list(args), cwd=self.path, env=e,
                           capture_output=True, text=True, timeout=300)
        if check:
            assert r.returncode == 0, r.stdout + r.stderr
        return r

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def run(self, *args, prefix=()):
        return subprocess.run(list(prefix) + list(args), capture_output=True,
                              text=True, timeout=60)


@pytest.fixture
def tree(snapshot, tmp_path):
    return Tree(snapshot, tmp_path / "tree")


def assert_static_works(tree, path, arch="x86-64"):
    f = file_of(path)
    assert "statically linked" in f, f
    assert arch in f, f
    r = tree.run(path, "--version")
    assert r.returncode == 0, r
    assert "clamhook 0.1.0" in r.stdout, r


# ---------------------------------------------------------------------------
# The default build.

def test_default_build_is_static_musl_with_symbols(tree):
    r = tree.make()
    assert "  CC       build/x86_64/main.o" in r.stdout
    assert "musl-gcc" not in r.stdout        # short lines without V=1
    assert_static_works(tree, tree.p("clamhook"))
    assert "not stripped" in file_of(tree.p("clamhook"))
    assert "with debug_info" in file_of(tree.p("clamhook"))
    with open(tree.p("clamhook"), "rb") as a, \
            open(tree.p("build", "x86_64", "clamhook"), "rb") as b:
        assert a.read() == b.read()
    # nothing to do the second time
    assert " CC " not in tree.make().stdout


def test_v1_prints_commands_and_required_flags(tree):
    r = tree.make("V=1")
    cc = [line for line in r.stdout.splitlines()
          if line.startswith("musl-gcc") and " -c " in line]
    assert cc, r.stdout
    for flag in ("-std=c11", "-D_GNU_SOURCE", "-Isrc",
                 "-DCLAMHOOK_VERSION='\"0.1.0\"'", "-Wall", "-Wextra",
                 "-Werror=implicit-function-declaration",
                 "-Werror=format-security", "-ffunction-sections",
                 "-fdata-sections", "-Os", "-g",
                 "-idirafter /usr/include"):
        assert flag in cc[0], (flag, cc[0])
    assert "-Werror " not in cc[0] + " "
    ld = [line for line in r.stdout.splitlines()
          if line.startswith("musl-gcc") and " -o build/x86_64/clamhook " in
          line]
    assert ld and "-static" in ld[0] and "-Wl,--gc-sections" in ld[0]
    assert DEBIAN_INIH in ld[0]


@pytest.mark.parametrize("how", [("CI=true",), ("WERROR=1",)])
def test_werror_in_ci(tree, how):
    r = tree.make("-n", "V=1", *how)
    assert " -Werror " in r.stdout


def test_version_from_src_version(tree):
    """src/VERSION is the one place the version is written."""
    with open(tree.p("src", "VERSION"), "w") as f:
        f.write("2.3.4\n")
    tree.make()
    assert tree.run(tree.p("clamhook"), "--version").stdout == \
        "clamhook 2.3.4\n"
    tree.make("dist")
    assert os.path.exists(tree.p("clamhook-2.3.4.tar.gz"))


def test_version_variable(tree):
    tree.make("VERSION=9.8.7")
    r = tree.run(tree.p("clamhook"), "--version")
    assert "9.8.7" in r.stdout, r


def test_changed_flags_rebuild_everything(tree):
    tree.make()
    r = tree.make("CFLAGS=-O1 -g")
    assert "  CC       build/x86_64/main.o" in r.stdout
    assert "  LD       build/x86_64/clamhook" in r.stdout


# ---------------------------------------------------------------------------
# What integrators pass.

def test_cc_with_spaces(tree, tmp_path):
    log = tmp_path / "cc.log"
    wrap = script(tmp_path / "fake-ccache",
                  'echo "$*" >>%s\nexec "$@"\n' % log)
    cc = "%s gcc -specs %s" % (wrap, MUSL_SPECS)
    tree.make("CC=" + cc)
    assert_static_works(tree, tree.p("clamhook"))
    calls = log.read_text().splitlines()
    assert any(c.startswith("gcc -specs %s" % MUSL_SPECS) and
               "-o build/x86_64/clamhook " in c for c in calls), calls
    # the environment works the same (OpenWrt)
    shutil.rmtree(tree.p("build"))
    log.unlink()
    tree.make(env={"CC": cc})
    assert_static_works(tree, tree.p("clamhook"))
    assert log.read_text().count("\n") == len(calls)


def test_cross_compile_prefix(tree, tmp_path):
    bindir = tmp_path / "tc"
    bindir.mkdir()
    log = tmp_path / "tc.log"
    pre = str(bindir / "x86_64-test-linux-musl-")
    script(pre + "gcc", 'echo "gcc $*" >>%s\nexec musl-gcc "$@"\n' % log)
    script(pre + "strip", 'echo "strip $*" >>%s\nexec strip "$@"\n' % log)
    tree.make("CROSS_COMPILE=" + pre)
    assert_static_works(tree, tree.p("clamhook"))
    dest = tmp_path / "dest"
    tree.make("CROSS_COMPILE=" + pre, "DESTDIR=%s" % dest, "install-strip")
    installed = str(dest / "usr/local/bin/clamhook")
    assert "stripped" in file_of(installed).replace("not stripped", "")
    text = log.read_text()
    assert "gcc " in text and "strip %s" % installed in text


def test_cflags_on_command_line_keep_required_flags(tree):
    r = tree.make("V=1", "CFLAGS=-O0", "CPPFLAGS=", "LDFLAGS=")
    assert "-std=c11" in r.stdout and "-D_GNU_SOURCE" in r.stdout
    assert " -Os" not in r.stdout
    assert_static_works(tree, tree.p("clamhook"))


def test_flags_from_environment(tree):
    env = {"CFLAGS": "-O2 -DFROM_ENV_CFLAGS", "CPPFLAGS": "-DFROM_ENV_CPP",
           "LDFLAGS": "-Wl,-z,noexecstack"}
    r = tree.make("V=1", env=env)
    for flag in ("-O2", "-DFROM_ENV_CFLAGS", "-DFROM_ENV_CPP",
                 "-Wl,-z,noexecstack", "-std=c11", "-static"):
        assert flag in r.stdout, flag
    assert_static_works(tree, tree.p("clamhook"))


def test_static_0_links_dynamically(tree):
    tree.make("STATIC=0")
    f = file_of(tree.p("clamhook"))
    assert "dynamically linked" in f and "ld-musl" in f, f
    r = tree.run(tree.p("clamhook"), "--version")
    assert r.returncode == 0 and "clamhook" in r.stdout, r


def test_pkg_config_is_asked(tree, tmp_path):
    log = tmp_path / "pc.log"
    pc = script(tmp_path / "my-pkg-config", """echo "$*" >>%s
case "$*" in
*--cflags*) echo "-idirafter /usr/include -DFROM_PKG_CONFIG" ;;
*--libs*) echo "%s" ;;
*) exit 0 ;;
esac
""" % (log, DEBIAN_INIH))
    r = tree.make("V=1", "PKG_CONFIG=" + pc)
    assert "-DFROM_PKG_CONFIG" in r.stdout
    calls = log.read_text()
    assert "--cflags inih" in calls and "--static --libs inih" in calls
    assert_static_works(tree, tree.p("clamhook"))


@pytest.mark.parametrize("var", ["PKG_CONFIG_LIBDIR",
                                 "PKG_CONFIG_SYSROOT_DIR"])
def test_pkg_config_sysroot_from_environment(tree, tmp_path, var):
    """Yocto points pkg-config at its sysroot through the environment:
    its inih is the one linked, never Debian's archive, even with a
    compiler that looks like Debian's own."""
    pcdir = tmp_path / "pkgconfig"
    pcdir.mkdir()
    (pcdir / "inih.pc").write_text(
        "Name: inih\nDescription: x\nVersion: 58\n"
        "Cflags: -DFROM_SYSROOT_PC\nLibs: -linih\n")
    env = {"PKG_CONFIG_LIBDIR": str(pcdir)}
    if var == "PKG_CONFIG_SYSROOT_DIR":
        env = {var: "/", "PKG_CONFIG_PATH": str(pcdir)}
    r = tree.make("V=1", "CC=gcc", "STATIC=0", env=env)
    assert "-DFROM_SYSROOT_PC" in r.stdout
    assert DEBIAN_INIH not in r.stdout
    assert "libinih.so" in subprocess.run(
        ["readelf", "-dW", tree.p("clamhook")], capture_output=True,
        text=True, check=True).stdout


def test_inih_cflags_and_libs_override(tree, tmp_path):
    r = tree.make("V=1", "INIH_CFLAGS=-idirafter /usr/include -DOVERRIDE",
                  "INIH_LIBS=" + DEBIAN_INIH)
    assert "-DOVERRIDE" in r.stdout
    assert_static_works(tree, tree.p("clamhook"))
    r = tree.make("INIH_LIBS=-lno-such-inih", check=False)
    assert r.returncode != 0 and "no-such-inih" in r.stderr


def installed(dest):
    """{path under dest: mode} of every file."""
    return {os.path.relpath(os.path.join(d, n), dest):
            os.stat(os.path.join(d, n)).st_mode & 0o7777
            for d, _, ns in os.walk(dest) for n in ns}


def test_install_paths(tree, tmp_path):
    """The binary and the man pages, wherever the variables say."""
    tree.make()
    cases = [
        ((), {}, "usr/local/bin", "usr/local/share/man"),
        (("PREFIX=/opt/ch",), {}, "opt/ch/bin", "opt/ch/share/man"),
        (("prefix=/usr",), {}, "usr/bin", "usr/share/man"),
        ((), {"PREFIX": "/srv"}, "srv/bin", "srv/share/man"),
        ((), {"prefix": "/usr"}, "usr/bin", "usr/share/man"),
        (("bindir=/sbin", "mandir=/man"), {}, "sbin", "man"),
    ]
    for i, (args, env, where, man) in enumerate(cases):
        dest = tmp_path / ("d%d" % i)
        tree.make("install", "DESTDIR=%s" % dest, *args, env=env)
        assert installed(dest) == {
            where + "/clamhook": 0o755,
            man + "/man1/clamhook.1": 0o644,
            man + "/man5/clamhook.ini.5": 0o644}, (args, env)
        assert "not stripped" in file_of(str(dest / where / "clamhook"))
    with open(dest / man / "man5/clamhook.ini.5", "rb") as f, \
            open(tree.p("src/clamhook.ini.5"), "rb") as g:
        assert f.read() == g.read()


def test_install_board(tree, tmp_path):
    """install-board: the overlay's files, as `make rootfs` lays them out
    but for the target's INI fragment, with their modes."""
    dest = tmp_path / "dest"
    tree.make("install-board", "DESTDIR=%s" % dest, "PREFIX=/usr")
    assert installed(dest) == {
        "etc/clamhook.ini": 0o644,
        "etc/default/clamhook": 0o644,
        "etc/init.d/S45clamhook": 0o755,
        "usr/libexec/clamhook/hook-common": 0o644,
        "usr/libexec/clamhook/mta-hook": 0o755,
        "usr/libexec/clamhook/postfix-filter": 0o755,
        "usr/libexec/clamhook/smtpd-mda": 0o755}
    overlay = tree.p("board/common/rootfs_overlay")
    for name in installed(dest):
        with open(dest / name, "rb") as f, \
                open(os.path.join(overlay, name), "rb") as g:
            assert f.read() == g.read(), name
    other = tmp_path / "other"
    tree.make("install-board", "DESTDIR=%s" % other, "sysconfdir=/opt/etc",
              "libexecdir=/opt/lib")
    assert sorted(installed(other)) == sorted(
        n.replace("etc/", "opt/etc/", 1).replace("usr/libexec/", "opt/lib/")
        for n in installed(dest))


def test_install_strip_uses_strip(tree, tmp_path):
    log = tmp_path / "strip.log"
    st = script(tmp_path / "my-strip", 'echo "$*" >>%s\nexec strip "$@"\n'
                % log)
    dest = tmp_path / "dest"
    tree.make("install-strip", "DESTDIR=%s" % dest, "STRIP=" + st)
    path = str(dest / "usr/local/bin/clamhook")
    assert log.read_text().strip() == path
    assert "not stripped" not in file_of(path)
    assert_static_works(tree, path)


def test_arch_is_never_read(snapshot, tmp_path):
    """OpenWrt exports its own ARCH (and Buildroot's may differ): the binary
    is the same byte for byte."""
    a = Tree(snapshot, tmp_path / "a")
    b = Tree(snapshot, tmp_path / "b")
    a.make()
    b.make("ARCH=mips", env={"ARCH": "mips"})
    with open(a.p("clamhook"), "rb") as x, open(b.p("clamhook"), "rb") as y:
        assert x.read() == y.read()


def test_foreign_target_in_environment_is_ignored(tree):
    r = tree.make(env={"TARGET": "mipsel-openwrt-linux-musl"})
    assert "build/x86_64/clamhook" in r.stdout
    assert_static_works(tree, tree.p("clamhook"))


def test_unknown_target_on_command_line_fails(tree):
    r = tree.make("TARGET=sparc", check=False)
    assert r.returncode != 0
    assert "toolchain/sparc.mk" in r.stderr


# ---------------------------------------------------------------------------
# Reproducibility.

def test_reproducible_in_other_dirs(snapshot, tmp_path):
    """Same SOURCE_DATE_EPOCH, two trees at different paths, one with its
    objects in an outside BUILDDIR: the same binary and rootfs tarball."""
    a = Tree(snapshot, tmp_path / "one")
    b = Tree(snapshot, tmp_path / "two" / "deeper")
    for t in (a, b):            # the recipes that carry the tarball's hash
        for d in ("openwrt", "yocto"):
            os.makedirs(t.p("board", d), exist_ok=True)
            with open(t.p("board", d, "recipe"), "w") as f:
                f.write(t.path)
    outside = str(tmp_path / "objects")
    a.make("rootfs")
    b.make("rootfs", "BUILDDIR=" + outside)
    for x, y in (
            (a.p("build/x86_64/clamhook"), outside + "/x86_64/clamhook"),
            (a.p("build/x86_64/clamhook-rootfs-x86_64.tar.gz"),
             outside + "/x86_64/clamhook-rootfs-x86_64.tar.gz")):
        with open(x, "rb") as f, open(y, "rb") as g:
            assert f.read() == g.read(), (x, y)
    assert os.path.exists(outside + "/x86_64/main.o")
    assert not os.path.exists(b.p("build"))


def test_dist_reproducible_and_builds(snapshot, tmp_path):
    """make dist in two trees at different paths, files touched at other
    times and one made group-writable: the same bytes; the tarball holds
    the sources under clamhook-VERSION/ and nothing built, and builds."""
    a = Tree(snapshot, tmp_path / "one")
    b = Tree(snapshot, tmp_path / "two" / "deeper")
    for t in (a, b):            # the recipes that carry the tarball's hash
        for d in ("openwrt", "yocto"):
            os.makedirs(t.p("board", d), exist_ok=True)
            with open(t.p("board", d, "recipe"), "w") as f:
                f.write(t.path)
    os.utime(b.p("src", "main.c"), (1, 1))
    os.chmod(b.p("README.md"), 0o664)
    b.make()                                # build output is left out
    for t in (a, b):
        t.make("dist")
    name = "clamhook-0.1.0.tar.gz"
    with open(a.p(name), "rb") as f, open(b.p(name), "rb") as g:
        assert f.read() == g.read()
    with tarfile.open(a.p(name)) as t:
        members = {m.name: m for m in t.getmembers()}
    os.mkdir(tmp_path / "x")
    subprocess.run(["tar", "xzf", a.p(name), "-C", str(tmp_path / "x")],
                   check=True, timeout=60)
    assert all(n.startswith("clamhook-0.1.0/") for n in members)
    for n in ("LICENSE", "Makefile", "README.md", ".ci/run", "src/VERSION",
              "src/clamhook.1", "src/clamhook.ini.5", "src/main.c",
              "board/common/rootfs_overlay/etc/clamhook.ini"):
        assert "clamhook-0.1.0/" + n in members, n
    assert not [n for n in members if n.startswith((
        "clamhook-0.1.0/build/", "clamhook-0.1.0/clamhook-",
        "clamhook-0.1.0/board/openwrt", "clamhook-0.1.0/board/yocto"))
        or "__pycache__" in n or n == "clamhook-0.1.0/clamhook"]
    m = members["clamhook-0.1.0/.ci/run"]
    assert (m.mode, m.uid, m.mtime) == (0o755, 0, int(EPOCH))
    assert members["clamhook-0.1.0/README.md"].mode == 0o644
    src = Tree.__new__(Tree)
    src.path = str(tmp_path / "x" / "clamhook-0.1.0")
    src.make()
    assert_static_works(src, src.p("clamhook"))


def test_rootfs_tarball(tree):
    tree.make("rootfs")
    path = tree.p("build/x86_64/clamhook-rootfs-x86_64.tar.gz")
    with tarfile.open(path) as t:
        members = {m.name.lstrip("./"): m for m in t.getmembers()}
        for m in members.values():
            assert (m.uid, m.gid, m.mtime) == (0, 0, int(EPOCH)), m.name
        for name, mode in (("usr/bin/clamhook", 0o755),
                           ("etc/clamhook.ini", 0o644),
                           ("etc/init.d/S45clamhook", 0o755),
                           ("usr/libexec/clamhook/mta-hook", 0o755),
                           ("usr/libexec/clamhook/postfix-filter", 0o755),
                           ("usr/libexec/clamhook/smtpd-mda", 0o755),
                           ("usr/libexec/clamhook/hook-common", 0o644),
                           ("etc/default/clamhook", 0o644)):
            assert members[name].mode == mode, name
        ini = t.extractfile(members["etc/clamhook.ini"]).read().decode()
        binary = t.extractfile(members["usr/bin/clamhook"]).read()
    # x86_64's fragment replaced the buffer size, once
    assert "\nbuffer_size = 1048576\n" in ini
    assert ini.count("buffer_size =") == 1
    out = tree.p("stripped")
    with open(out, "wb") as f:
        f.write(binary)
    os.chmod(out, 0o755)
    assert "not stripped" not in file_of(out)
    assert_static_works(tree, out)


# ---------------------------------------------------------------------------
# Cross targets, run under qemu-user.

CROSS = [("aarch64", "ARM aarch64", "qemu-aarch64-static"),
         ("armv7", "ARM, EABI5", "qemu-arm-static"),
         ("mipsel", "MIPS32 rel2", "qemu-mipsel-static")]


@pytest.mark.parametrize("target,arch,qemu", CROSS)
def test_cross_target(tree, target, arch, qemu):
    r = tree.make("TARGET=" + target)
    assert "build/%s/clamhook" % target in r.stdout
    assert not os.path.exists(tree.p("clamhook"))
    path = tree.p("build", target, "clamhook")
    f = file_of(path)
    assert "statically linked" in f and arch in f, f
    r = tree.run(path, "--version", prefix=[qemu])
    assert r.returncode == 0 and "clamhook 0.1.0" in r.stdout, r
    r = tree.make("TARGET=" + target, "size")
    assert target in r.stdout


# ---------------------------------------------------------------------------
# board/: every target's INI (the default merged with its fragment) is valid,
# and the scripts are POSIX sh.

BOARDS = ["x86_64", "aarch64", "armv7", "mipsel"]


def test_board_ini_of_every_target_is_valid(tree, tmp_path):
    tree.make()
    for b in BOARDS:
        root = tmp_path / b
        shutil.copytree(tree.p("board/common/rootfs_overlay"), root)
        r = subprocess.run(["busybox", "sh", tree.p("board/common/post_build.sh"),
                            str(root), tree.p("board", b)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r
        ini = str(root / "etc/clamhook.ini")
        r = tree.run(tree.p("clamhook"), "--check-config", "-c", ini)
        assert r.returncode == 0, (b, r)
        with open(tree.p("board", b, "clamhook.fragment.ini")) as f:
            frag = [line.strip() for line in f
                    if "=" in line and not line.startswith(("#", ";"))]
        text = open(ini).read().splitlines()
        for line in frag:
            assert line in text, (b, line)
            key = line.split("=")[0].strip()
            assert sum(t.startswith(key + " ") for t in text) == 1, (b, key)


def test_shell_scripts_lint(tree):
    r = tree.make("lint")
    assert "SHCHECK" in r.stdout


# ---------------------------------------------------------------------------
# Man pages (src/clamhook.1, src/clamhook.ini.5): lint-clean, installed
# (test_install_paths), and saying what the binary says.

MAN1 = os.path.join(REPO, "src", "clamhook.1")
MAN5 = os.path.join(REPO, "src", "clamhook.ini.5")


def man_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def test_man_pages_lint_clean():
    r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", MAN1, MAN5],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, ""), r


def test_man1_options_and_status_match_help(tree):
    """Every option --help lists is in the OPTIONS list and nothing else;
    the exit statuses are the ones --help names."""
    tree.make()
    text = tree.run(tree.p("clamhook"), "--help").stdout
    helped = set(re.findall(r"-(\w)[,|] ?--([\w-]+)", text))
    lines = man_lines(MAN1)
    listed = set(re.findall(r"^\.It Fl (\w) , -([\w-]+)", "\n".join(lines),
                            re.M))
    assert listed == helped and len(helped) == 9, (listed, helped)
    codes = set(re.findall(r"\b(\d+) [a-z]", text.split("exit:")[1]))
    start = lines.index(".Sh EXIT STATUS")
    end = next(i for i in range(start + 1, len(lines))
               if lines[i].startswith(".Sh "))
    documented = {s.split()[1] for s in lines[start:end]
                  if re.match(r"^\.It \d+$", s)}
    assert documented == codes == {"0", "1", "75", "78"}


def test_man5_keys_and_defaults_match_check_config(tree, tmp_path):
    """Every key of every section, in the order and with the default
    `clamhook -t` prints for a file that sets only a server."""
    tree.make()
    ini = tmp_path / "min.ini"
    ini.write_text("[clamd]\nserver = 127.0.0.1\n")
    r = tree.run(tree.p("clamhook"), "-t", "-c", str(ini))
    assert r.returncode == 0, r
    printed, section = [], None
    for s in r.stdout.splitlines():
        if s.startswith("["):
            section = s.strip("[]")
        elif s:
            key, _, value = s.partition(" =")
            printed.append((section, key, value.strip()))
    documented, section = [], None
    for s in man_lines(MAN5):
        m = re.match(r"^\.Ss \\&\[(\w+)\]$", s)
        if m:
            section = m.group(1)
        elif s.startswith(".Ss "):
            section = None
        m = re.match(r"^\.It Cm (\w+) No =(?: Li (\S+))?(.*)$", s)
        if section and m:
            value = m.group(2) or ""
            if (section, m.group(1)) == ("clamd", "server"):
                value = "127.0.0.1"     # required: no default
            else:
                assert m.group(3) == "", s
            documented.append((section, m.group(1), value))
    assert documented == printed
