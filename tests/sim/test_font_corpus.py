"""The font corpus: the committed manifest's counts and split, and `fetch` against a local npm-shaped registry."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sim import font_corpus, fonts
from sim.errors import FontCorpusError, UnknownNameError

PKG = "@fontsource/testhand"
VERSION = "1.2.3"
FACE_FILE = "files/testhand-latin-400-normal.woff2"


# ---- the committed manifest ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest() -> dict:
    return font_corpus.load_manifest()


def test_manifest_counts_meet_the_issue(manifest):
    c = font_corpus.counts()
    assert c["families"] >= 60 and c["faces"] >= 150 and c["handwriting_families"] >= 30
    assert c["heldout_handwriting_families"] >= 8
    assert 0.20 <= c["heldout_families"] / c["families"] <= 0.25
    assert c["faces"] == len(manifest["faces"]) and c["packages"] == len(manifest["packages"])


def test_split_is_by_family_and_matches_the_rule(manifest):
    by_family = defaultdict(set)
    kinds = {}
    for f in manifest["faces"]:
        by_family[f["family"]].add(f["split"])
        assert kinds.setdefault(f["family"], f["kind"]) == f["kind"], f["family"]
    assert all(len(s) == 1 for s in by_family.values()), "a family sits on both sides"
    # the split written into the manifest is the one the rule gives, so it is not recomputed at load time
    assert font_corpus.assign_split(kinds) == {fam: s.pop() for fam, s in by_family.items()}


def test_manifest_entries_are_complete(manifest):
    packages = {p["name"]: p for p in manifest["packages"]}
    assert len(packages) == len(manifest["packages"])
    for p in packages.values():
        assert p["source"] in font_corpus.SOURCES and p["version"] and p["license"]
        assert p["integrity"].startswith("sha512-" if p["source"] == "npm" else "sha256-")
    names = [f["name"] for f in manifest["faces"]]
    assert len(set(names)) == len(names)
    used = set()
    for f in manifest["faces"]:
        assert f["kind"] in font_corpus.KINDS and f["split"] in ("train", "heldout")
        assert f["package"] in packages and f["file"] and not Path(f["file"]).is_absolute()
        used.add(f["package"])
        if packages[f["package"]]["source"] == "npm":
            assert font_corpus.NPM_FACE.match(f["file"]), f["file"]
    assert used == set(packages), "a package without faces"
    assert not {f["family"] for f in manifest["faces"]} & set(font_corpus.EXCLUDED_FAMILIES)


def test_corpus_fonts_filters(manifest):
    every = font_corpus.corpus_fonts()
    held_hand = font_corpus.corpus_fonts("heldout", "handwriting")
    assert every == sorted(f["name"] for f in manifest["faces"])
    assert held_hand and set(held_hand) < set(font_corpus.corpus_fonts(split="heldout"))
    assert not set(held_hand) & set(font_corpus.corpus_fonts(split="train"))
    assert set(font_corpus.corpus_fonts(kind="print")) | set(font_corpus.corpus_fonts(kind="handwriting")) == set(every)


def test_absent_corpus_says_run_make_fonts(tmp_path, monkeypatch):
    monkeypatch.setenv(font_corpus.CORPUS_DIR_ENV, str(tmp_path / "nowhere"))
    name = font_corpus.corpus_fonts()[0]
    with pytest.raises(FontCorpusError, match="make fonts"):
        font_corpus.corpus_font_path(name)
    with pytest.raises(FontCorpusError, match="make fonts"):
        fonts.load_font(f"corpus/{name}", 20)
    with pytest.raises(UnknownNameError):
        fonts.font_path("corpus/no_such_face")


def test_import_stays_light():
    code = "import sys, sim.fonts, sim.font_corpus; print(sorted({'PIL', 'tqdm', 'urllib.request'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---- fetch against a registry on 127.0.0.1 ---------------------------------------------------------------------


def _tarball() -> bytes:
    """An npm-shaped tarball: a matplotlib font renamed like a fontsource latin face, and a LICENSE."""
    font = (fonts.matplotlib_font_dir() / "DejaVuSans.ttf").read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("package/" + FACE_FILE, font), ("package/LICENSE", b"test licence\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _write_manifest(path: Path, integrity: str, face: str) -> Path:
    pkg = {"name": PKG, "source": "npm", "version": VERSION, "integrity": integrity}
    pkg |= {"license": "OFL-1.1", "license_file": "LICENSE"}
    faces = [{"name": face, "family": "testhand", "style": "400_normal", "file": FACE_FILE}]
    faces[0] |= {"kind": "handwriting", "package": PKG, "split": "heldout"}
    path.write_text(json.dumps({"packages": [pkg], "faces": faces}))
    return path


@pytest.fixture
def registry():
    """A local registry serving the tarball at npm's path; yields (url, tarball bytes, request log)."""
    data, hits = _tarball(), []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            ok = self.path == f"/{PKG}/-/testhand-{VERSION}.tgz"
            self.send_response(200 if ok else 404)
            self.end_headers()
            if ok:
                self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", data, hits
    server.shutdown()
    server.server_close()


def test_fetch_then_load_through_sim_fonts(tmp_path, monkeypatch, registry):
    url, data, hits = registry
    face = "testhand_400_normal_fetch"  # its own name: load_font caches per name
    man = _write_manifest(tmp_path / "manifest.json", font_corpus.sri(data), face)
    dest = tmp_path / "corpus"
    assert font_corpus.fetch(dest, registry=url, progress=False, manifest=man) == [PKG]
    pkg_dir = dest / "npm" / f"fontsource-testhand-{VERSION}"
    assert (pkg_dir / FACE_FILE).read_bytes() == (fonts.matplotlib_font_dir() / "DejaVuSans.ttf").read_bytes()
    assert (pkg_dir / "LICENSE").is_file()
    assert sorted(p.name for p in dest.iterdir()) == ["npm"], "temporary files left behind"

    monkeypatch.setattr(font_corpus, "MANIFEST_PATH", man)
    monkeypatch.setenv(font_corpus.CORPUS_DIR_ENV, str(dest))
    font = fonts.load_font(f"corpus/{face}", 30)
    assert font.getname()[0] == "DejaVu Sans"
    assert fonts.missing_glyphs(f"corpus/{face}", fonts.MATH_GLYPHS) == ""
    assert font_corpus.counts()["fetched_faces"] == 1

    n = len(hits)
    assert font_corpus.fetch(dest, registry=url, progress=False, manifest=man) == []  # already there
    assert len(hits) == n


def test_fetch_refuses_a_tarball_that_does_not_match(tmp_path, registry):
    url, data, hits = registry
    man = _write_manifest(tmp_path / "manifest.json", font_corpus.sri(data + b"x"), "testhand_400_normal_bad")
    dest = tmp_path / "corpus"
    with pytest.raises(FontCorpusError, match="does not match its pinned hash"):
        font_corpus.fetch(dest, registry=url, progress=False, manifest=man)
    assert hits, "the registry was never asked"
    assert [p for p in dest.rglob("*")] == [], "something half-written stayed"


def test_fetch_replaces_a_package_folder_left_incomplete(tmp_path, registry):
    url, data, _ = registry
    man = _write_manifest(tmp_path / "manifest.json", font_corpus.sri(data), "testhand_400_normal_stale")
    dest = tmp_path / "corpus"
    stale = dest / "npm" / f"fontsource-testhand-{VERSION}"
    stale.mkdir(parents=True)
    (stale / "junk").write_text("from an older, interrupted run")
    assert font_corpus.fetch(dest, registry=url, progress=False, manifest=man) == [PKG]
    assert sorted(p.name for p in stale.iterdir()) == [".integrity", "LICENSE", "files"]


def test_assign_split_is_per_kind_and_holds_enough_hands():
    kinds = {f"hand{i}": "handwriting" for i in range(30)} | {f"print{i}": "print" for i in range(40)}
    split = font_corpus.assign_split(kinds)
    assert split == font_corpus.assign_split(dict(reversed(kinds.items())))  # order does not matter
    held = [f for f, s in split.items() if s == "heldout"]
    assert sum(f.startswith("hand") for f in held) == max(8, round(0.22 * 30))
    assert sum(f.startswith("print") for f in held) == round(0.22 * 40)


def test_debian_license_reads_dep5():
    text = (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2010 Someone\nLicense: OFL-1.1\n\n"
        "Files: debian/*\nCopyright: 2011 Packager\nLicense: GPL-2+\n"
    )
    assert font_corpus.debian_license(text) == "OFL-1.1"
    assert font_corpus.debian_license("This font is under the SIL Open Font License.") == "OFL-1.1"
