"""Image-text samples cached to one parquet file (PNG bytes per picture), written deterministically.

Columns: index, kind, split, seed, question, answer, and `image.<name>` (PNG bytes, null where a
sample has no such picture) for name in IMAGE_NAMES. The same (split, seed, config, count) writes
the same bytes, so a cache can be checked by its hash.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

from chatvla2_lite.data.image_text import ImageTextConfig, iter_image_text

log = logging.getLogger(__name__)

IMAGE_NAMES = ("board", "front", "wrist")
TEXT_COLUMNS = ("kind", "split", "question", "answer")
ROWS_PER_GROUP = 256
PNG_COMPRESS_LEVEL = 6


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 (H, W, 3) image (no timestamps or other varying chunks)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """The uint8 (H, W, 3) image in PNG bytes."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _schema():
    import pyarrow as pa

    fields = [pa.field("index", pa.int64()), pa.field("seed", pa.int64())]
    fields += [pa.field(c, pa.string()) for c in TEXT_COLUMNS]
    fields += [pa.field(f"image.{n}", pa.binary()) for n in IMAGE_NAMES]
    return pa.schema(fields)


def _table(rows: list[dict]):
    import pyarrow as pa

    columns = {"index": [r["index"] for r in rows], "seed": [r["seed"] for r in rows]}
    columns |= {c: [r[c] for r in rows] for c in TEXT_COLUMNS}
    for name in IMAGE_NAMES:
        columns[f"image.{name}"] = [encode_png(r["images"][name]) if name in r["images"] else None for r in rows]
    return pa.Table.from_pydict(columns, schema=_schema())


def cache_image_text(
    path: str | Path,
    count: int,
    split: str = "train",
    seed: int = 0,
    config: ImageTextConfig | None = None,
    progress: bool = True,
) -> Path:
    """Write the first `count` samples of the (split, seed, config) stream to the parquet file `path`."""
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = iter_image_text(split, seed, config)
    tmp = path.with_suffix(path.suffix + ".partial")
    try:
        with pq.ParquetWriter(tmp, _schema(), compression="zstd") as writer:
            rows: list[dict] = []
            for _ in tqdm(range(count), desc=f"image-text {split}", unit="sample", disable=not progress):
                unknown = set((sample := next(stream))["images"]) - set(IMAGE_NAMES)
                if unknown:
                    raise ValueError(f"cannot cache pictures named {sorted(unknown)}; known: {IMAGE_NAMES}")
                rows.append(sample)
                if len(rows) == ROWS_PER_GROUP:
                    writer.write_table(_table(rows))
                    rows = []
            if rows:
                writer.write_table(_table(rows))
    finally:
        stream.close()
    tmp.replace(path)
    log.info("cached %d image-text samples (%s, seed %d) to %s", count, split, seed, path)
    return path


def load_image_text_cache(path: str | Path) -> list[dict]:
    """The cached samples, in the same dict form as the stream's (images decoded to uint8 arrays)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path).to_pylist()
    out = []
    for row in table:
        images = {n: decode_png(row[f"image.{n}"]) for n in IMAGE_NAMES if row[f"image.{n}"] is not None}
        out.append({"images": images, **{c: row[c] for c in TEXT_COLUMNS}, "seed": row["seed"], "index": row["index"]})
    return out
