"""A broad font corpus for boards and cards: the stand-in for the web's many hands the nano model never saw.

`make fonts` fetches it once, at the versions pinned in ``sim/assets/font_corpus.json``, from Debian's
``fonts-*`` packages and npm's ``@fontsource/*`` packages; nothing downloads a font at run time. The
manifest also fixes each family's split (all faces of a family on one side), so it is the same on every
machine. Faces are named like ``caveat_400_normal``; `sim.fonts.load_font("corpus/caveat_400_normal", 40)`
loads one. The sim's default boards keep matplotlib's fonts: the corpus is opt-in.

    python -m sim.font_corpus fetch            # what `make fonts` runs
    python -m sim.font_corpus list --split heldout --kind handwriting
    python -m sim.font_corpus check            # one JSON line of counts
    python -m sim.font_corpus build-manifest   # maintainers: re-pin the packages listed below
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import shutil
import string
import subprocess
import sys
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path

from sim.errors import FontCorpusError, SimError, UnknownNameError

log = logging.getLogger(__name__)

MANIFEST_PATH = Path(__file__).parent / "assets" / "font_corpus.json"
NPM_REGISTRY = "https://registry.npmjs.org"  # npm's own default; `fetch --registry` points elsewhere
CORPUS_DIR_ENV = "FONT_CORPUS_DIR"
DEFAULT_CORPUS_DIR = Path(__file__).resolve().parents[1] / ".cache" / "font-corpus"
PREFIX = "corpus/"  # how sim.fonts tells a corpus face from a matplotlib font
KINDS = ("handwriting", "print")
SOURCES = ("debian", "npm")
HELDOUT_FRACTION = 0.22  # of each kind's families
MIN_HELDOUT_HANDWRITING = 8
BOARD_LETTERS = string.ascii_letters  # boards show short words beside the sums
MARKER = ".integrity"  # written last into a package's folder: its presence means the folder is whole
HTTP_TIMEOUT_S = 60

# ---- what build-manifest pins: package -> style kind. Families already in matplotlib (DejaVu, STIX) stay
# out: the model trained on them. Chosen for casual hands and markers with legible digits, not formal scripts.
NPM_PACKAGES: dict[str, str] = {
    **{
        f"@fontsource/{p}": "handwriting"
        for p in (
            "annie-use-your-telescope architects-daughter bad-script balsamiq-sans caveat caveat-brush "
            "cedarville-cursive chilanka comic-neue covered-by-your-grace delicious-handrawn delius finger-paint "
            "gaegu gloria-hallelujah gochi-hand grandstander handlee happy-monkey homemade-apple indie-flower itim "
            "kalam mansalva marck-script neucha patrick-hand permanent-marker playpen-sans reenie-beanie rock-salt "
            "schoolbell shadows-into-light shantell-sans short-stack sriracha sue-ellen-francisco "
            "swanky-and-moo-moo the-girl-next-door courgette satisfy"
        ).split()
    },
    **{
        f"@fontsource/{p}": "print"
        for p in (
            "inter roboto roboto-slab roboto-mono lato montserrat poppins nunito oswald raleway merriweather "
            "playfair-display source-sans-3 source-serif-4 work-sans pt-sans pt-serif fira-sans ibm-plex-sans "
            "atkinson-hyperlegible lexend bitter arvo space-mono courier-prime special-elite quicksand comfortaa "
            "ubuntu karla libre-baskerville crimson-text josefin-sans dm-sans rubik barlow"
        ).split()
    },
}
DEBIAN_PACKAGES: dict[str, str] = {
    **{
        p: "handwriting"
        for p in (
            "fonts-dkg-handwriting fonts-breip fonts-bwht fonts-ecolier-court fonts-femkeklaver fonts-humor-sans "
            "fonts-kristi fonts-rufscript fonts-tomsontalks fonts-sjfonts fonts-tlwg-purisa-otf fonts-dancingscript "
            "fonts-kaushanscript fonts-cabinsketch fonts-leckerli-one fonts-lobster"
        ).split()
    },
    **{
        p: "print"
        for p in (
            "fonts-liberation2 fonts-freefont-ttf fonts-urw-base35 fonts-sil-andika fonts-sil-charis "
            "fonts-sil-gentiumplus fonts-ebgaramond fonts-open-sans fonts-crosextra-carlito fonts-crosextra-caladea "
            "fonts-cantarell fonts-hack fonts-jetbrains-mono fonts-firacode fonts-inconsolata fonts-linuxlibertine "
            "fonts-opendyslexic"
        ).split()
    },
}
# Families left out (family key -> why): some after looking at their contact sheet.
EXCLUDED_FAMILIES: dict[str, str] = {
    "dejavu_sans": "matplotlib ships it: the model trained on it",
    "dejavu_serif": "matplotlib ships it: the model trained on it",
    "dejavu_sans_mono": "matplotlib ships it: the model trained on it",
    "d050000l": "dingbats",
    "standard_symbols_ps": "a symbol font",
    "linux_biolinum_keyboard_o": "every character sits in a drawn keycap",
    "bad_script": "its 9 reads as g and its 0 as o",
    "femkeklaver": "hollow outline letters, not a pen or marker stroke",
}

# Families a package names apart that are one design in another width or optical size (key -> family key):
# split as one, so that a heldout family has no near-twin in train.
FAMILY_ALIASES: dict[str, str] = {
    "cabinsketch": "cabin_sketch",
    "gentium_book_plus": "gentium_plus",
    "linux_libertine_display_o": "linux_libertine_o",
    "nimbus_sans_narrow": "nimbus_sans",
    "open_sans_condensed": "open_sans",
    "opendyslexicalta": "opendyslexic",
    "opendyslexicmono": "opendyslexic",
}

NPM_FACE = re.compile(r"^files/(?P<family>.+)-latin-(?P<weight>\d+)-(?P<style>normal|italic)\.woff2$")
DEBIAN_FONT_DIR = "usr/share/fonts/"


# ---- reading the manifest and the fetched corpus ---------------------------------------------------------------


def corpus_dir() -> Path:
    """Where the corpus lives: $FONT_CORPUS_DIR, else <repo>/.cache/font-corpus."""
    return Path(os.environ.get(CORPUS_DIR_ENV) or DEFAULT_CORPUS_DIR)


@lru_cache(maxsize=8)
def _load(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_manifest(manifest: Path | None = None) -> dict:
    """The manifest as a dict: {"packages": [...], "faces": [...]} (cached per path)."""
    return _load(str(manifest or MANIFEST_PATH))


def _faces(manifest: Path | None = None) -> dict[str, dict]:
    return {f["name"]: f for f in load_manifest(manifest)["faces"]}


def corpus_fonts(split: str | None = None, kind: str | None = None, manifest: Path | None = None) -> list[str]:
    """The sorted face names of the corpus, only those of `split` and/or `kind` when given."""
    faces = load_manifest(manifest)["faces"]
    return sorted(f["name"] for f in faces if split in (None, f["split"]) and kind in (None, f["kind"]))


def corpus_families(split: str, kind: str | None = None, manifest: Path | None = None) -> dict[str, list[str]]:
    """family -> its faces' names (with the corpus/ prefix, as sim.fonts takes them) of `split`, only those of
    `kind` ("handwriting" or "print") when given."""
    families: dict[str, list[str]] = {}
    for face in load_manifest(manifest)["faces"]:
        if face["split"] == split and kind in (None, face["kind"]):
            families.setdefault(face["family"], []).append(PREFIX + face["name"])
    return {family: sorted(faces) for family, faces in sorted(families.items())}


def draw_corpus_font(split: str, rng, kind: str | None = None) -> str:
    """A corpus face of `split` (and `kind`): a family first, all alike, then one of its faces (a family holds 1
    to 18)."""
    families = list(corpus_families(split, kind).values())
    faces = families[int(rng.integers(len(families)))]
    return faces[int(rng.integers(len(faces)))]


def package_dir(dest: Path, pkg: dict) -> Path:
    """The folder one package is unpacked into, e.g. dest/npm/fontsource-caveat-5.3.0."""
    return dest / pkg["source"] / f"{pkg['name'].lstrip('@').replace('/', '-')}-{pkg['version']}"


def corpus_font_path(name: str, dest: Path | None = None, manifest: Path | None = None) -> Path:
    """The font file of corpus face `name`; raises FontCorpusError (run `make fonts`) when it is not fetched."""
    name = name.removeprefix(PREFIX)
    faces = _faces(manifest)
    if name not in faces:
        raise UnknownNameError("corpus font", name, faces)
    face = faces[name]
    pkg = next(p for p in load_manifest(manifest)["packages"] if p["name"] == face["package"])
    path = package_dir(dest or corpus_dir(), pkg) / face["file"]
    if not path.is_file():
        raise FontCorpusError(
            f"corpus font {name!r} is not fetched ({path} is missing): run `make fonts` "
            f"(or `python -m sim.font_corpus fetch`), or set {CORPUS_DIR_ENV} to where the corpus lives"
        )
    return path


def counts(manifest: Path | None = None, dest: Path | None = None) -> dict[str, int]:
    """Families, faces, handwriting and heldout family counts of the manifest, and how many faces are fetched."""
    faces = load_manifest(manifest)["faces"]
    fam = {f["family"]: f for f in faces}  # the split is by family, so any face stands for its family
    held = [f for f in fam.values() if f["split"] == "heldout"]
    pkgs = {p["name"]: p for p in load_manifest(manifest)["packages"]}
    root = dest or corpus_dir()
    return {
        "families": len(fam),
        "faces": len(faces),
        "handwriting_families": sum(f["kind"] == "handwriting" for f in fam.values()),
        "heldout_families": len(held),
        "heldout_handwriting_families": sum(f["kind"] == "handwriting" for f in held),
        "packages": len(pkgs),
        "fetched_faces": sum((package_dir(root, pkgs[f["package"]]) / f["file"]).is_file() for f in faces),
    }


# ---- fetching ----------------------------------------------------------------------------------------------------


def sri(data: bytes, algo: str = "sha512") -> str:
    """The Subresource-Integrity string of `data`, npm's `dist.integrity` format: "sha512-<base64>"."""
    return f"{algo}-{base64.b64encode(hashlib.new(algo, data).digest()).decode()}"


def verify(data: bytes, integrity: str, what: str) -> None:
    """Raises FontCorpusError unless `data` hashes to `integrity` ("sha512-..." or "sha256-...")."""
    algo = integrity.split("-", 1)[0]
    if sri(data, algo) != integrity:
        raise FontCorpusError(
            f"{what} does not match its pinned hash ({integrity[:30]}..., got {sri(data, algo)[:30]}...): "
            "nothing was written for it. Retry `make fonts`; if it fails again the registry serves other bytes "
            "than the manifest pins, so re-pin with `python -m sim.font_corpus build-manifest`"
        )


def _http_get(url: str) -> bytes:
    import urllib.error
    import urllib.request  # only here: reading the manifest needs no network stack

    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as r:
            return r.read()
    except (urllib.error.URLError, TimeoutError) as e:
        raise FontCorpusError(f"could not download {url}: {e}. Check the network, or pass --registry") from e


def npm_tarball_url(registry: str, name: str, version: str) -> str:
    """Where an npm registry keeps a package's tarball: <registry>/@scope/pkg/-/pkg-1.2.3.tgz."""
    return f"{registry.rstrip('/')}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def _download(pkg: dict, registry: str, workdir: Path) -> bytes:
    """The package's archive bytes, verified against its pinned integrity."""
    if pkg["source"] == "npm":
        data = _http_get(npm_tarball_url(registry, pkg["name"], pkg["version"]))
    else:
        data = _apt_download(pkg["name"], pkg["version"], workdir)
    verify(data, pkg["integrity"], f"{pkg['source']} package {pkg['name']} {pkg['version']}")
    return data


def _apt_download(name: str, version: str, workdir: Path) -> bytes:
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        raise FontCorpusError(f"fetching Debian package {name} needs Debian's apt-get and dpkg-deb on PATH")
    command = ["apt-get", "download", "-qq", f"{name}={version}"]
    run = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    if run.returncode != 0 and os.geteuid() == 0:  # a fresh machine's package lists may be empty: read them once
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        run = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    debs = list(workdir.glob(f"{name}_*.deb"))
    if run.returncode != 0 or not debs:
        raise FontCorpusError(
            f"`apt-get download {name}={version}` failed: {run.stderr.strip()[-300:]}. Run `apt-get update` "
            "first; if the version left the archive, re-pin with `python -m sim.font_corpus build-manifest`"
        )
    return debs[0].read_bytes()


def _unpack(pkg: dict, data: bytes, workdir: Path) -> Path:
    """The package's files unpacked under a folder in `workdir`, laid out as inside the package."""
    root = workdir / "root"
    workdir.mkdir(parents=True, exist_ok=True)
    if pkg["source"] == "npm":
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(root, filter="data")  # "data" refuses absolute paths, links out and devices
        return root / "package"
    deb = workdir / "pkg.deb"
    deb.write_bytes(data)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, capture_output=True)
    return root


def _install(pkg: dict, files: list[str], data: bytes, dest: Path) -> None:
    """Copies `files` of the verified archive into the package's folder, all at once or not at all."""
    final = package_dir(dest, pkg)
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=f".{final.name}.") as tmp:
        src = _unpack(pkg, data, Path(tmp) / "unpack")
        stage = Path(tmp) / "stage"
        for rel in files:
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, stage / rel)
        (stage / MARKER).write_text(pkg["integrity"])
        shutil.rmtree(final, ignore_errors=True)  # a folder without a matching marker is stale
        os.replace(stage, final)


def _is_whole(pkg: dict, files: list[str], dest: Path) -> bool:
    d = package_dir(dest, pkg)
    marker = d / MARKER
    return marker.is_file() and marker.read_text() == pkg["integrity"] and all((d / f).is_file() for f in files)


def fetch(
    dest: Path | None = None, registry: str = NPM_REGISTRY, progress: bool = True, manifest: Path | None = None
) -> list[str]:
    """Downloads, verifies and unpacks every package the manifest names into `dest`; returns those it fetched.

    Packages already there whole are skipped. Each package lands complete or not at all.
    """
    from tqdm import tqdm

    dest = Path(dest or corpus_dir())
    man = load_manifest(manifest)
    files: dict[str, list[str]] = {
        p["name"]: [p["license_file"]] if p.get("license_file") else [] for p in man["packages"]
    }
    for f in man["faces"]:
        files[f["package"]].append(f["file"])
    fetched = []
    bar = tqdm(man["packages"], desc="font corpus", unit="pkg", disable=not progress)
    for pkg in bar:
        bar.set_postfix_str(pkg["name"])
        if _is_whole(pkg, files[pkg["name"]], dest):
            continue
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest, prefix=".download.") as tmp:
            data = _download(pkg, registry, Path(tmp))
        _install(pkg, files[pkg["name"]], data, dest)
        fetched.append(pkg["name"])
    log.info("font corpus in %s: fetched %d of %d packages", dest, len(fetched), len(man["packages"]))
    return fetched


# ---- building the manifest (maintainers only: `python -m sim.font_corpus build-manifest`) -------------------------


def slug(text: str) -> str:
    """A lower-case, underscore-separated key: "Comic Neue" -> "comic_neue"."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def assign_split(family_kinds: dict[str, str]) -> dict[str, str]:
    """family -> "train" | "heldout": per kind, the families first by sha256 of their key are held out."""
    split = {}
    for kind in KINDS:
        fams = sorted(
            (f for f, k in family_kinds.items() if k == kind), key=lambda f: hashlib.sha256(f.encode()).digest()
        )
        n = round(HELDOUT_FRACTION * len(fams))
        if kind == "handwriting":
            n = max(n, MIN_HELDOUT_HANDWRITING)
        split.update({f: "heldout" if i < n else "train" for i, f in enumerate(fams)})
    return split


def debian_license(copyright_text: str) -> str:
    """The licence(s) a Debian copyright file gives the upstream files, e.g. "OFL-1.1" or "GPL-3+ and OFL-1.1"."""
    found = []
    for para in re.split(r"\n\s*\n", copyright_text):
        files = re.search(r"^Files:\s*(.+)$", para, re.M)
        lic = re.search(r"^License:\s*(\S.*)$", para, re.M)
        if files and lic and not files.group(1).strip().startswith("debian/") and lic.group(1).strip() not in found:
            found.append(lic.group(1).strip())
    if found:
        return " and ".join(found)
    for words, short in (("Open Font License", "OFL-1.1"), ("General Public License", "GPL"), ("Apache", "Apache-2.0")):
        if words.lower() in copyright_text.lower():
            return short
    return "see license_file"


def _npm_package(name: str, registry: str, work: Path) -> tuple[dict, Path, list[dict]]:
    meta = json.loads(_http_get(f"{registry.rstrip('/')}/{name}/latest"))
    pkg = {"name": name, "source": "npm", "version": meta["version"], "integrity": meta["dist"]["integrity"]}
    pkg["license"] = meta.get("license") or "see license_file"
    root = _unpack(pkg, _download(pkg, registry, work), work / "unpack")
    pkg["license_file"] = "LICENSE" if (root / "LICENSE").is_file() else None
    family = slug(name.rsplit("/", 1)[-1])
    faces = []
    for path in sorted(root.glob("files/*.woff2")):
        m = NPM_FACE.match(path.relative_to(root).as_posix())
        if m:
            style = f"{m['weight']}_{m['style']}"
            faces.append({"name": f"{family}_{style}", "family": family, "style": style, "file": m.group(0)})
    return pkg, root, faces


def _debian_package(name: str, work: Path) -> tuple[dict, Path, list[dict]]:
    from PIL import ImageFont

    show = subprocess.run(["apt-cache", "show", "--no-all-versions", name], capture_output=True, text=True, check=True)
    fields = dict(re.findall(r"^(Version|SHA256): (\S+)$", show.stdout, re.M))
    integrity = "sha256-" + base64.b64encode(bytes.fromhex(fields["SHA256"])).decode()
    pkg = {"name": name, "source": "debian", "version": fields["Version"], "integrity": integrity}
    root = _unpack(pkg, _download(pkg, "", work), work / "unpack")
    copyright_file = root / "usr/share/doc" / name / "copyright"
    real = copyright_file.is_file() and not copyright_file.is_symlink()
    pkg["license"] = debian_license(copyright_file.read_text(errors="replace")) if real else "see the Debian package"
    pkg["license_file"] = copyright_file.relative_to(root).as_posix() if real else None
    faces = []
    for path in sorted((root / DEBIAN_FONT_DIR).rglob("*")):
        if path.suffix.lower() not in (".ttf", ".otf") or path.is_symlink():
            continue
        try:
            family_name, style = ImageFont.truetype(str(path), 16).getname()
        except OSError:
            continue
        family, style = slug(family_name or path.stem), slug(style or "regular")
        faces.append(
            {"name": f"{family}_{style}", "family": family, "style": style, "file": path.relative_to(root).as_posix()}
        )
    return pkg, root, faces


def build_manifest(out: Path = MANIFEST_PATH, registry: str = NPM_REGISTRY, progress: bool = True) -> dict:
    """Pins the latest version of every package listed in this module and writes the manifest to `out`.

    Keeps a face only if it draws all of sim.fonts.MATH_GLYPHS and the ASCII letters; a family comes from
    the first package that has it; splits the families with `assign_split`.
    """
    from tqdm import tqdm

    from sim.fonts import MATH_GLYPHS, missing_glyphs

    listed = [(n, "npm", k) for n, k in NPM_PACKAGES.items()] + [(n, "debian", k) for n, k in DEBIAN_PACKAGES.items()]
    packages, faces, owner = [], [], {}
    with tempfile.TemporaryDirectory(prefix="font-corpus-build.") as tmp:
        for i, (name, source, kind) in enumerate(tqdm(listed, desc="build manifest", disable=not progress)):
            work = Path(tmp) / str(i)
            work.mkdir()
            pkg, root, found = _npm_package(name, registry, work) if source == "npm" else _debian_package(name, work)
            kept = []
            for face in found:
                fam = face["family"] = FAMILY_ALIASES.get(face["family"], face["family"])
                if (
                    fam in EXCLUDED_FAMILIES
                    or owner.get(fam, name) != name
                    or any(f["name"] == face["name"] for f in faces + kept)
                ):
                    log.info(
                        "%s: leaves out %s (excluded, a duplicate, or another package has the family)",
                        name,
                        face["name"],
                    )
                    continue
                missing = missing_glyphs(root / face["file"], MATH_GLYPHS + BOARD_LETTERS)
                if missing:
                    log.info("%s: leaves out %s, which does not draw %r", name, face["name"], missing)
                    continue
                kept.append({**face, "kind": kind, "package": name})
                owner[fam] = name
            if kept:
                packages.append(pkg)
                faces += kept
            shutil.rmtree(work)
    split = assign_split({f["family"]: f["kind"] for f in faces})
    for f in faces:
        f["split"] = split[f["family"]]
    manifest = {
        "about": "Pinned by `python -m sim.font_corpus build-manifest`; fetched by `make fonts`. Split by family.",
        "heldout_fraction": HELDOUT_FRACTION,
        "min_heldout_handwriting": MIN_HELDOUT_HANDWRITING,
        "packages": sorted(packages, key=lambda p: (p["source"], p["name"])),
        "faces": sorted(faces, key=lambda f: f["name"]),
    }
    out.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _load.cache_clear()
    log.info("wrote %s: %s", out, json.dumps(counts(out)))
    return manifest


def main(argv: list[str] | None = None) -> int:
    """The `python -m sim.font_corpus` command line."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m sim.font_corpus", description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", type=Path, default=None, help="default: sim/assets/font_corpus.json")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download the pinned corpus (what `make fonts` runs)")
    f.add_argument("--dest", type=Path, default=None, help=f"default: ${CORPUS_DIR_ENV} or .cache/font-corpus")
    f.add_argument("--registry", default=NPM_REGISTRY)
    ls = sub.add_parser("list", help="the face names, one a line")
    ls.add_argument("--split", choices=("train", "heldout"))
    ls.add_argument("--kind", choices=KINDS)
    sub.add_parser("check", help="one JSON line of counts")
    b = sub.add_parser("build-manifest", help="maintainers: re-pin the packages listed in this module")
    b.add_argument("--registry", default=NPM_REGISTRY)
    b.add_argument("--out", type=Path, default=MANIFEST_PATH)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.cmd == "fetch":
            fetch(args.dest, args.registry, manifest=args.manifest)
        elif args.cmd == "list":
            print("\n".join(corpus_fonts(args.split, args.kind, args.manifest)))
        elif args.cmd == "check":
            print(json.dumps(counts(args.manifest)))
        else:
            build_manifest(args.out, args.registry)
    except SimError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
