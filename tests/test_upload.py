"""The safe upload loader: good files read back exactly, and every bad or hostile file is refused.

Every file is built here, in memory; nothing binary is committed.
"""

from __future__ import annotations

import io
import pickle
import struct
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
import scipy.io
from PIL import Image

from adlab.data.types import DataError, Dataset
from adlab.data.upload import LIMITS, Upload, UploadLimits, load_upload, sniff_columns

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------- file builders


def csv_bytes(header: list[str], rows: list[list], sep: str = ",") -> bytes:
    lines = [sep.join(header)] + [sep.join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def numeric_csv(n: int = 20) -> bytes:
    return csv_bytes(["a", "b", "label"], [[i, i * 0.5, i % 2] for i in range(n)])


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def mat_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    scipy.io.savemat(buf, arrays)
    return buf.getvalue()


def image_bytes(array: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    img.save(buf, format=fmt)
    return buf.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return buf.getvalue()


def gray(k: int, size: tuple[int, int] = (6, 5)) -> np.ndarray:
    """A distinct uint8 grayscale image (H, W) per k."""
    return ((np.arange(size[0] * size[1]).reshape(size) * 7 + 31 * k) % 256).astype(np.uint8)


def class_zip(prefix: str = "", n: int = 6, classes=("cat", "dog")) -> bytes:
    return zip_bytes({f"{prefix}{c}/{i:03d}.png": image_bytes(gray(10 * j + i)) for j, c in enumerate(classes) for i in range(n)})


def good_npz() -> bytes:
    return npz_bytes(X=RNG.normal(size=(20, 3)), y=np.arange(20) % 2)


def good_npy() -> bytes:
    return npy_bytes(RNG.normal(size=(20, 3)))


def good_mat() -> bytes:
    return mat_bytes(X=RNG.normal(size=(20, 3)), y=(np.arange(20) % 2)[:, None].astype(float))


def patch_zip_flag(data: bytes, bit: int) -> bytes:
    """Set a general-purpose flag bit in every local and central header (e.g. 0x1 = encrypted)."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := out.find(sig, start)) >= 0:
            flags = struct.unpack_from("<H", out, at + offset)[0]
            struct.pack_into("<H", out, at + offset, flags | bit)
            start = at + 4
    return bytes(out)


def patch_zip_size(data: bytes, size: int) -> bytes:
    """Overwrite the declared uncompressed size of every member (local and central headers)."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := out.find(sig, start)) >= 0:
            struct.pack_into("<I", out, at + offset, size)
            start = at + 4
    return bytes(out)


def symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(12):
            zf.writestr(f"cat/{i}.png", image_bytes(gray(i)))
        link = zipfile.ZipInfo("cat/link.png")
        link.create_system = 3
        link.external_attr = (0o120777 << 16)  # a Unix symbolic link
        zf.writestr(link, "/etc/passwd")
    return buf.getvalue()


def torch_checkpoint() -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save({"weight": torch.zeros(3)}, buf)
    return buf.getvalue()


def legacy_torch_checkpoint() -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save({"weight": torch.zeros(3)}, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


class Sneaky:
    """Unpickling an instance opens (creates) the file at ``path``: a visible trace of code execution."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def sneaky_array(path) -> np.ndarray:
    arr = np.empty(12, dtype=object)
    arr[:] = [Sneaky(str(path))] * 12
    return arr


# ----------------------------------------------------------------------------- good files


def test_numeric_csv_reads_back_exact_values_and_numeric_label_order():
    rows = [[i, i * 0.25, [10, 2, 1][i % 3]] for i in range(30)]
    up = load_upload("data.csv", csv_bytes(["a", "b", "label"], rows))
    assert isinstance(up, Upload) and up.kind == "tabular" and up.format == "csv"
    assert up.X.dtype == np.float32 and up.X.shape == (30, 2)
    np.testing.assert_array_equal(up.X[:, 0], np.arange(30, dtype=np.float32))
    np.testing.assert_array_equal(up.X[:, 1], np.arange(30, dtype=np.float32) * 0.25)
    assert up.class_names == ("1", "2", "10")  # numeric order, not "1", "10", "2"
    assert [up.class_names[k] for k in up.y[:3]] == ["10", "2", "1"]
    assert up.y.dtype == np.int64
    assert up.feature_names == ("a", "b") and up.label_column == "label" and up.columns == ("a", "b", "label")
    assert any("picked by its name" in n for n in up.notes)


def test_categorical_column_is_one_hot_encoded_and_named():
    colours = ["red", "green", "blue"]
    rows = [[i, colours[i % 3], "normal" if i % 5 else "attack"] for i in range(30)]
    up = load_upload("data.csv", csv_bytes(["x", "colour", "class"], rows))
    assert up.feature_names == ("x", "colour=blue", "colour=green", "colour=red")
    assert up.n_one_hot == 3
    np.testing.assert_array_equal(up.X[:3, 1:], [[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    assert up.X[:, 1:].sum(axis=1).tolist() == [1.0] * 30
    assert any("one-hot encoded 1 text column(s) into 3 features: 'colour'" in n for n in up.notes)
    assert up.class_names == ("attack", "normal")
    assert up.describe() == "data.csv: 30 rows × 4 features (3 one-hot), labels from 'class': attack 6, normal 24"


def test_tsv_and_tab_separated_txt():
    rows = [[i, 2 * i, i % 2] for i in range(12)]
    for name in ("data.tsv", "data.txt"):
        up = load_upload(name, csv_bytes(["p", "q", "target"], rows, sep="\t"))
        assert up.format == "tsv" and up.feature_names == ("p", "q") and up.label_column == "target"
        np.testing.assert_array_equal(up.X[:, 1], 2 * np.arange(12))


def test_label_column_auto_none_chosen():
    data = csv_bytes(["a", "Class", "b"], [[i, i % 3, -i] for i in range(12)])
    auto = load_upload("d.csv", data)
    assert auto.label_column == "Class" and auto.class_names == ("0", "1", "2")
    none = load_upload("d.csv", data, label_column=None)
    assert none.y is None and none.class_names == () and none.feature_names == ("a", "Class", "b")
    assert none.class_counts() == {}
    chosen = load_upload("d.csv", data, label_column="b")
    assert chosen.label_column == "b" and len(chosen.class_names) == 12 and chosen.feature_names == ("a", "Class")
    no_label = load_upload("d.csv", csv_bytes(["a", "b"], [[i, i] for i in range(12)]))
    assert no_label.y is None and any("no label column found" in n for n in no_label.notes)
    with pytest.raises(DataError, match="choose a label column"):
        no_label.to_dataset()


def test_columns_dropped_kept_and_noted():
    rows = [[i, "", 7, f"id-{i}", i % 2] for i in range(25)]
    up = load_upload("d.csv", csv_bytes(["a", "empty", "const", "name", "y"], rows))
    assert up.feature_names == ("a", "const")
    notes = " | ".join(up.notes)
    assert "dropped 1 empty column(s)" in notes and "'empty'" in notes
    assert "dropped 1 text column(s) with more than 20 distinct values" in notes and "'name'" in notes
    assert "constant column(s)" in notes and "'const'" in notes


def test_missing_markers_are_missing_in_numbers_but_values_in_text():
    rows = [[i, "NA" if i % 4 == 0 else "tcp", "none" if i % 3 else "dos"] for i in range(12)]
    up = load_upload("d.csv", csv_bytes(["x", "proto", "attack"], rows), label_column="attack")
    assert up.feature_names == ("x", "proto=NA", "proto=tcp")  # visible as a category, not dropped
    assert up.class_names == ("dos", "none") and up.class_counts() == {"dos": 4, "none": 8}
    only_markers = csv_bytes(["x", "junk"], [[i, "NA"] for i in range(12)])
    up = load_upload("d.csv", only_markers)
    assert up.feature_names == ("x",) and any("'junk'" in n and "empty" in n for n in up.notes)


def test_sniff_columns_reads_the_header():
    assert sniff_columns("d.csv", numeric_csv()) == ("a", "b", "label")
    assert sniff_columns("d.tsv", b"x\ty z\n1\t2\n") == ("x", "y z")
    with pytest.raises(DataError, match="only tables"):
        sniff_columns("d.npz", good_npz())
    with pytest.raises(DataError, match="looks like a PNG image"):
        sniff_columns("d.csv", image_bytes(gray(0)))


def test_npz_with_labels_and_to_dataset():
    X = RNG.normal(size=(20, 3))
    y = np.array(["normal"] * 15 + ["anomaly"] * 5)
    up = load_upload("d.npz", npz_bytes(X=X, y=y))
    np.testing.assert_array_equal(up.X, X.astype(np.float32))
    assert up.class_names == ("anomaly", "normal") and up.class_counts() == {"anomaly": 5, "normal": 15}
    assert up.feature_names == ("x0", "x1", "x2")
    ds = up.to_dataset()
    assert isinstance(ds, Dataset) and ds.kind == "tabular" and ds.name == "d.npz"
    np.testing.assert_array_equal(ds.y, (y == "normal").astype(np.int64))


def test_npz_images_uint8_nhw_and_nhwc():
    imgs = RNG.integers(0, 256, size=(12, 5, 7), dtype=np.uint8)
    up = load_upload("im.npz", npz_bytes(X=imgs, y=np.arange(12) % 3))
    assert up.kind == "image" and up.X.shape == (12, 1, 5, 7)
    np.testing.assert_allclose(up.X[:, 0], imgs / 255.0, atol=1e-7)
    assert up.preview_rows() == {}
    thumbs = up.thumbnails(per_class=2)
    assert [c for c, _ in thumbs] == ["0", "0", "1", "1", "2", "2"]
    np.testing.assert_array_equal(thumbs[0][1], imgs[0])  # first image of class 0 is image 0
    rgb = RNG.integers(0, 256, size=(10, 4, 4, 3), dtype=np.uint8)
    up = load_upload("rgb.npz", npz_bytes(X=rgb))
    assert up.X.shape == (10, 3, 4, 4) and up.y is None
    np.testing.assert_allclose(up.X[3, 2], rgb[3, :, :, 2] / 255.0, atol=1e-7)
    assert any("transposed" in n for n in up.notes)
    floats = RNG.normal(size=(10, 1, 4, 4)) * 50
    up = load_upload("f.npz", npz_bytes(X=floats))
    assert up.X.min() == 0.0 and up.X.max() == 1.0 and any("min-max scaled" in n for n in up.notes)


def test_npz_single_array_of_any_name_is_x():
    up = load_upload("d.npz", npz_bytes(features=np.ones((15, 2))))
    assert up.X.shape == (15, 2) and up.y is None and any("'features', is used as X" in n for n in up.notes)


def test_npy_is_x_without_labels():
    X = RNG.normal(size=(20, 4))
    up = load_upload("d.npy", npy_bytes(X))
    assert up.format == "npy" and up.y is None
    np.testing.assert_array_equal(up.X, X.astype(np.float32))


def test_mat_odds_layout():
    X = RNG.normal(size=(30, 4))
    y = np.zeros((30, 1))
    y[-3:] = 1
    up = load_upload("odds.mat", mat_bytes(X=X, y=y))
    assert up.format == "mat" and up.kind == "tabular"
    np.testing.assert_array_equal(up.X, X.astype(np.float32))
    assert up.class_names == ("0", "1") and up.class_counts() == {"0": 27, "1": 3}
    assert up.describe() == "odds.mat: 30 rows × 4 features, labels from y: 0 27, 1 3"


def test_zip_one_folder_per_class_png_gray():
    up = load_upload("pics.zip", class_zip())
    assert up.kind == "image" and up.format == "zip" and up.X.shape == (12, 1, 6, 5)
    assert up.class_names == ("cat", "dog") and up.class_counts() == {"cat": 6, "dog": 6}
    np.testing.assert_allclose(up.X[7, 0], gray(11) / 255.0, atol=1e-7)  # dog/001.png, lossless
    assert up.describe() == "pics.zip: 12 images 1×6×5, labels from folders: cat 6, dog 6"
    thumbs = up.thumbnails(per_class=1)
    assert [c for c, _ in thumbs] == ["cat", "dog"] and thumbs[1][1].shape == (6, 5)
    np.testing.assert_array_equal(thumbs[1][1], gray(10))


def test_zip_normal_abnormal_rgb_jpeg():
    files = {}
    for i in range(6):
        files[f"normal/{i}.jpg"] = image_bytes(np.full((8, 8, 3), 40, np.uint8), "JPEG")
        files[f"abnormal/{i}.jpeg"] = image_bytes(np.full((8, 8, 3), (220, 30, 30), np.uint8), "JPEG")
    up = load_upload("ad.zip", zip_bytes(files))
    assert up.class_names == ("normal", "abnormal")  # normal first
    assert up.X.shape == (12, 3, 8, 8)
    red = up.X[up.y == 1]
    assert np.abs(red[:, 0].mean() - 220 / 255) < 0.03 and np.abs(red[:, 1].mean() - 30 / 255) < 0.03
    assert np.abs(up.X[up.y == 0].mean() - 40 / 255) < 0.03
    assert up.thumbnails(per_class=1)[0][1].shape == (8, 8, 3)


def test_zip_with_top_folder_macos_junk_and_non_images():
    data = zip_bytes(
        {
            **{f"data/{c}/{i}.png": image_bytes(gray(i)) for c in ("a", "b") for i in range(6)},
            "__MACOSX/data/a/._0.png": b"junk",
            "data/.DS_Store": b"junk",
            "data/README.txt": b"hello",
        }
    )
    up = load_upload("d.zip", data)
    assert up.class_names == ("a", "b") and len(up) == 12
    notes = " | ".join(up.notes)
    assert "top folder 'data/'" in notes and "2 hidden or __MACOSX" in notes and "README.txt" in notes


def test_zip_top_level_images_load_unlabelled():
    up = load_upload("flat.zip", zip_bytes({f"{i}.png": image_bytes(gray(i)) for i in range(10)}))
    assert up.y is None and up.class_names == () and any("without labels" in n for n in up.notes)
    assert [c for c, _ in up.thumbnails(per_class=3)] == ["unlabelled"] * 3
    with pytest.raises(DataError, match="one folder per class"):
        up.to_dataset()


def test_zip_mixed_sizes_need_image_size():
    files = {f"a/{i}.png": image_bytes(gray(i, (6, 5))) for i in range(6)}
    files.update({f"b/{i}.png": image_bytes(gray(i, (9, 12))) for i in range(6)})
    data = zip_bytes(files)
    with pytest.raises(DataError, match=r"differ in size .*5×6.*12×9.*choose an image size"):
        load_upload("mixed.zip", data)
    up = load_upload("mixed.zip", data, image_size=8)
    assert up.X.shape == (12, 1, 8, 8) and any("resized 12 image(s) to 8×8" in n for n in up.notes)
    assert 0.0 <= up.X.min() and up.X.max() <= 1.0


def test_zip_rgba_converted_with_note():
    rgba = np.dstack([np.full((4, 4, 3), 100, np.uint8), np.full((4, 4), 255, np.uint8)])
    up = load_upload("a.zip", zip_bytes({f"c/{i}.png": image_bytes(rgba) for i in range(10)}))
    assert up.X.shape == (10, 3, 4, 4) and np.allclose(up.X, 100 / 255)
    assert any("converted to RGB: 10 RGBA" in n for n in up.notes)


def test_preview_rows():
    up = load_upload("d.csv", numeric_csv())
    assert up.preview_rows(3) == {"a": [0.0, 1.0, 2.0], "b": [0.0, 0.5, 1.0], "label": ["0", "1", "0"]}
    assert up.thumbnails() == []


# ----------------------------------------------------------------------------- bad files


def _ragged_first_row() -> bytes:
    return b"a,b,c\n1,2,3,4\n" + b"".join(b"%d,2,3\n" % i for i in range(12))


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


BAD = {
    # name: (file name, bytes, load_upload kwargs, message fragment)
    "empty csv": ("d.csv", b"", {}, "empty (0 bytes)"),
    "empty npz": ("d.npz", b"", {}, "empty (0 bytes)"),
    "empty zip": ("d.zip", b"", {}, "empty (0 bytes)"),
    "truncated npz": ("d.npz", _truncated(good_npz()), {}, "damaged or truncated"),
    "truncated npy": ("d.npy", _truncated(good_npy()), {}, "file is truncated"),
    "truncated npy header": ("d.npy", good_npy()[:20], {}, "damaged or truncated header"),
    "truncated mat": ("d.mat", _truncated(good_mat()), {}, "damaged or truncated"),
    "truncated zip": ("d.zip", _truncated(class_zip()), {}, "damaged or truncated"),
    "truncated png": ("d.zip", zip_bytes({f"c/{i}.png": _truncated(image_bytes(gray(i))) for i in range(10)}), {},
                      "c/0.png is not a readable image"),
    "noise as csv": ("d.csv", RNG.integers(0, 256, 4000, dtype=np.uint8).tobytes(), {}, "binary data"),
    "png as csv": ("d.csv", image_bytes(gray(0)), {}, "looks like a PNG image, not CSV text"),
    "zip of images as npz": ("d.npz", class_zip(), {}, "looks like a ZIP of images, not an NPZ"),
    "zip of text as npz": ("d.npz", zip_bytes({"notes.txt": b"hi"}), {}, "not an NPZ"),
    "npz as zip": ("d.zip", good_npz(), {}, "looks like a NumPy .npz archive, not a ZIP of images; name it .npz"),
    "csv as npy": ("d.npy", numeric_csv(), {}, "looks like text, not a .npy array; name a table .csv"),
    "noise as npz": ("d.npz", bytes(range(256)) * 4, {}, "is not an NPZ archive (its first bytes match no known format)"),
    "unknown extension": ("d.xlsx", b"whatever", {}, "unknown file type '.xlsx' (it looks like text: name a table .csv"),
    "no extension": ("data", numeric_csv(), {}, "unknown file type 'no extension'"),
    "ragged row": ("d.csv", numeric_csv() + b"1,2,3,4\n", {}, "data row 20 (line 22 of the file) has 4 fields but the header has 3"),
    "ragged first row": ("d.csv", _ragged_first_row(), {}, "data row 0 (line 2 of the file) has 4 fields but the header has 3"),
    "text in numeric column": (
        "d.csv", csv_bytes(["age", "y"], [[("n/a?" if i == 5 else i), 0] for i in range(30)]), {},
        "column 'age' holds text in 1 row, first at data row 5 (line 7 of the file): 'n/a?'; fix or remove those cells, "
        "or drop the column",
    ),
    "missing cells": (
        "d.csv", csv_bytes(["a", "b", "y"], [[i, "" if i in (1, 4) else i, 0] for i in range(12)]), {},
        "missing values in 1 column(s): 'b' (2 rows, first at data row 1, line 3 of the file); fill them in (impute)",
    ),
    "missing category": (
        "d.csv", csv_bytes(["a", "c"], [[i, " " if i == 0 else "xy"[i % 2]] for i in range(12)]), {},
        "missing values in 1 column(s): 'c' (1 row, first at data row 0, line 2 of the file)",
    ),
    "missing markers in numbers": (
        "d.csv", csv_bytes(["a", "b"], [[i, ["NA", "n/a", "?"][i] if i < 3 else i] for i in range(12)]), {},
        "missing values in 1 column(s): 'b' (3 rows, first at data row 0, line 2 of the file)",
    ),
    "only empty columns": ("d.csv", csv_bytes(["a", "y"], [["", 1]] * 12), {}, "no usable feature columns"),
    "infinity": ("d.csv", csv_bytes(["a", "y"], [[("inf" if i == 3 else i), 0] for i in range(12)]), {},
                 "column 'a' holds 1 infinite value, first at data row 3 (line 5 of the file)"),
    "too large for float32": ("d.csv", csv_bytes(["a"], [[1e300]] * 12), {}, "too large for float32"),
    "decimal commas": ("d.csv", csv_bytes(["a", "b"], [[f'"{i},5"', i] for i in range(30)]), {}, "decimal commas"),
    "too few rows": ("d.csv", numeric_csv(5), {}, "has 5 data rows; adlab needs at least 10"),
    "missing label": ("d.csv", csv_bytes(["a", "label"], [[i, "" if i == 2 else 1] for i in range(12)]), {},
                      "the label column 'label' is empty in 1 row, first at data row 2 (line 4 of the file)"),
    "label column absent": ("d.csv", numeric_csv(), {"label_column": "nope"},
                            "has no column named 'nope'; its columns are 'a', 'b', 'label'"),
    "header of numbers": ("d.csv", csv_bytes(["1", "2"], [[i, i] for i in range(12)]), {}, "add a header row"),
    "txt without separator": ("d.txt", b"abc\n1\n", {}, "neither a tab nor a comma"),
    "string array": ("d.npz", npz_bytes(X=np.array([["a", "b"]] * 12)), {}, "X holds text (dtype <U1); convert it to numbers"),
    "complex array": ("d.npz", npz_bytes(X=np.ones((12, 2), dtype=complex)), {}, "complex numbers"),
    "object array": ("d.npz", npz_bytes(X=np.array([[1, "a"]] * 12, dtype=object)), {},
                     "holds Python objects (pickled data), which adlab never loads"),
    "1-D array": ("d.npy", npy_bytes(np.arange(12.0)), {}, "(1-D); adlab takes a table"),
    "no columns": ("d.npy", npy_bytes(np.zeros((12, 0))), {}, "X has shape (12, 0), with no values"),
    "5-D array": ("d.npy", npy_bytes(np.zeros((12, 1, 2, 2, 2))), {}, "(5-D)"),
    "ambiguous 3-D": ("d.npy", npy_bytes(np.zeros((32, 32, 3))), {}, "ambiguous"),
    "4 channels": ("d.npy", npy_bytes(np.zeros((12, 4, 5, 5))), {}, "1 or 3 channels"),
    "length mismatch": ("d.npz", npz_bytes(X=np.ones((20, 2)), y=np.ones(19)), {}, "X has 20 rows but y has 19 labels"),
    "y 2-D": ("d.npz", npz_bytes(X=np.ones((20, 2)), y=np.ones((20, 2))), {}, "y has shape (20, 2)"),
    "NaN in array": ("d.npz", npz_bytes(X=np.where(np.eye(12, 3) > 0, np.nan, 1.0)), {}, "3 NaN or infinite values"),
    "no X among arrays": ("d.npz", npz_bytes(a=np.ones((12, 2)), b=np.ones(12)), {}, "none named 'X'"),
    "mat v7.3": ("d.mat", b"MATLAB 7.3 MAT-file".ljust(512, b" ") + b"\x89HDF\r\n\x1a\n" + bytes(100), {}, "'-v7'"),
    "mat noise": ("d.mat", b"MATLAB 5.0 MAT-file".ljust(128, b" ") + bytes(range(256)) * 4, {}, "is not a readable MAT file"),
    "mat cell": ("d.mat", mat_bytes(X=np.array([[1.0], ["a"]], dtype=object)), {}, "is a MATLAB cell"),
    "image does not decode": ("d.zip", zip_bytes({f"c/{i}.png": b"not a png at all" for i in range(10)}), {},
                              "is not a readable image"),
    "mixed modes": (
        "d.zip",
        zip_bytes({**{f"a/{i}.png": image_bytes(gray(i)) for i in range(6)},
                   **{f"b/{i}.png": image_bytes(np.dstack([gray(i)] * 3) // 2) for i in range(6)}}),
        {}, "mixes grayscale and colour images (a/0.png is gray, b/0.png is colour); convert them all",
    ),
    "images and folders": ("d.zip", zip_bytes({"top.png": image_bytes(gray(0)), **{f"a/{i}.png": image_bytes(gray(i))
                           for i in range(10)}}), {}, "both at the top level"),
    "zip without images": ("d.zip", zip_bytes({"a.txt": b"x", "b.csv": b"1,2"}), {}, "holds no images"),
    "path traversal": ("d.zip", zip_bytes({"../evil.png": image_bytes(gray(0))}), {}, "'../evil.png' has an unsafe path"),
    "absolute path": ("d.zip", zip_bytes({"/etc/x.png": image_bytes(gray(0))}), {}, "'/etc/x.png' has an unsafe path"),
    "backslash path": ("d.zip", zip_bytes({"a\\..\\..\\x.png": image_bytes(gray(0))}), {}, "unsafe path"),
    "drive letter": ("d.zip", zip_bytes({"C:/x.png": image_bytes(gray(0))}), {}, "unsafe path"),
    "symlink": ("d.zip", symlink_zip(), {}, "is a symbolic link"),
    "encrypted": ("d.zip", patch_zip_flag(class_zip(), 0x1), {}, "is encrypted"),
    "nested zip": ("d.zip", zip_bytes({"a/inner.zip": class_zip(), "a/0.png": image_bytes(gray(0))}), {},
                   "holds another archive, a/inner.zip"),
    "nested npz": ("d.zip", zip_bytes({"a/x.npz": good_npz()}), {}, "another archive"),
    "declared 4 GB": ("d.zip", patch_zip_size(class_zip(), 0xFFFFFFF0), {}, "expand to 49152 MB, above the limit of 512 MB"),
    "member lies about size": ("d.zip", patch_zip_size(class_zip(), 10), {}, "damaged"),
    "pkl by name": ("m.pkl", pickle.dumps({"a": 1}), {}, "looks like a pickle / model file, which adlab never opens"),
    "pickle as csv": ("d.csv", pickle.dumps([1, 2, 3]), {}, "looks like a pickle / model file"),
    "pickle protocol 2 as npy": ("d.npy", pickle.dumps([1, 2], protocol=2), {}, "looks like a pickle / model file"),
    "pickle protocol 0 as txt": ("d.txt", pickle.dumps({"a": 1}, protocol=0), {}, "looks like a pickle / model file"),
    "h5 by name": ("model.h5", b"\x89HDF\r\n\x1a\n" + bytes(64), {}, "looks like a pickle / model file"),
    "safetensors by name": ("m.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{}", {}, "pickle / model file"),
    "empty model file": ("m.pt", b"", {}, "pickle / model file"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_files_are_refused_with_a_message_naming_the_problem(case):
    name, data, kwargs, fragment = BAD[case]
    with pytest.raises(DataError) as info:
        load_upload(name, data, **kwargs)
    message = str(info.value)
    assert message.startswith(name), message
    assert fragment in message, message


def test_table_errors_count_rows_like_the_scores_table():
    """Data row 0 is the first row after the header (the scores table's "row"); the line of the file comes too."""
    rows = [["n/a?" if i == 5 else i, 0] for i in range(30)]
    with pytest.raises(DataError, match=r"first at data row 5 \(line 7 of the file\): 'n/a\?'"):
        load_upload("d.csv", csv_bytes(["age", "y"], rows))
    with pytest.raises(DataError, match=r"first at data row 5 \(line 7 of the file\)"):
        load_upload("d.tsv", csv_bytes(["age", "y"], rows, sep="\t").replace(b"\n", b"\r\n"))
    # blank lines are skipped and a quoted cell spans two lines: the row stays 5, the line moves on
    quoted = csv_bytes(["age", "note"], [[i if i != 5 else "zz", '"a\nb"' if i == 1 else "x"] for i in range(30)])
    with pytest.raises(DataError, match=r"first at data row 5 \(line 10 of the file\): 'zz'"):
        load_upload("d.csv", b"\n" + quoted.replace(b"\n3,", b"\n\n3,", 1))
    ragged = csv_bytes(["a", "b"], [[i, 2] for i in range(12)]).replace(b"\n5,2\n", b"\n5,2,7\n")
    with pytest.raises(DataError, match=r"data row 5 \(line 7 of the file\) has 3 fields but the header has 2"):
        load_upload("d.csv", ragged)
    unclosed = csv_bytes(["a", "b"], [[i, 2] for i in range(12)]).replace(b"\n5,2\n", b'\n5,"2\n')
    with pytest.raises(DataError, match=r"a quoted cell opened in data row 5 \(line 7 of the file\) never closes"):
        load_upload("d.csv", unclosed)


@pytest.mark.parametrize("name", ["ckpt.pt", "ckpt.npz", "ckpt.zip", "ckpt.csv"])
def test_torch_checkpoints_are_refused_under_any_name(name):
    with pytest.raises(DataError, match="looks like a pickle / model file"):
        load_upload(name, torch_checkpoint())


def test_legacy_torch_checkpoint_is_refused_by_content():
    with pytest.raises(DataError, match="looks like a pickle / model file"):
        load_upload("weights.npy", legacy_torch_checkpoint())


@pytest.mark.parametrize("name", ["evil.npz", "evil.npy", "evil.pkl", "evil.csv", "evil.mat", "evil.zip"])
def test_pickled_payloads_are_never_unpickled(tmp_path, name):
    trace = tmp_path / "PWNED"
    payload = sneaky_array(trace)
    if name.endswith(".npz"):
        data = npz_bytes(X=payload)  # np.savez pickles object arrays
    elif name.endswith(".npy"):
        data = npy_bytes(payload)
    elif name.endswith(".zip"):
        data = zip_bytes({"a/0.png": image_bytes(gray(0)), "a/weights.pkl": pickle.dumps(payload)})
    else:
        data = pickle.dumps(payload)
    with pytest.raises(DataError, match="pickle|Python objects"):
        load_upload(name, data)
    assert not trace.exists()
    pickle.loads(pickle.dumps(payload[:1]))[0].close()  # the payload does leave a trace when unpickled
    assert trace.exists()


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """One member of 300 MiB of zeros, streamed in (about 1.4 MB compressed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("a/bomb.png", "w", force_zip64=True) as f:
            zeros = bytes(2**20)
            for _ in range(300):
                f.write(zeros)
        for i in range(10):
            zf.writestr(f"a/{i}.png", image_bytes(gray(i)))
    return buf.getvalue()


def _refused_quickly(name: str, data: bytes, fragment: str) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DataError, match=fragment):
            load_upload(name, data)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 8 * 2**20 + 2 * len(data)  # nothing close to the declared size was expanded


def test_zip_bomb_is_refused_fast_without_expanding(zip_bomb):
    _refused_quickly("bomb.zip", zip_bomb, "zip bomb")


def test_npz_bomb_is_refused_fast_without_expanding():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (25_000, 1000)})
            zeros = bytes(2**20)
            for _ in range(191):
                f.write(zeros)
    _refused_quickly("bomb.npz", buf.getvalue(), "zip bomb")


def test_npz_header_claiming_a_huge_array_is_refused_before_allocating():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    data = zip_bytes({"X.npy": header.getvalue() + bytes(800)})
    _refused_quickly("huge.npz", data, "damaged")
    _refused_quickly("huge.npy", header.getvalue() + bytes(800), "truncated")


# ----------------------------------------------------------------------------- limits


LIMIT_CASES = {
    "max_bytes": ("d.csv", numeric_csv(), UploadLimits(max_bytes=100),
                  "above the upload limit of 0.000 MB (server.maxUploadSize in .streamlit/config.toml and max_bytes"),
    "max_rows csv": ("d.csv", numeric_csv(30), UploadLimits(max_rows=20), "more than 20 rows"),
    "max_rows npz": ("d.npz", good_npz(), UploadLimits(max_rows=15), "above the limit of 15 (max_rows"),
    "max_features after one-hot": (
        "d.csv", csv_bytes(["a", "c"], [[i, "pqrst"[i % 5]] for i in range(20)]), UploadLimits(max_features=4),
        "has 6 features after one-hot encoding, above the limit of 4",
    ),
    "max_features header": ("d.csv", numeric_csv(), UploadLimits(max_features=1), "above the limit of 1 features"),
    "max_images zip": ("d.zip", class_zip(), UploadLimits(max_images=11), "holds 12 images, above the limit of 11"),
    "max_images npz": ("d.npz", npz_bytes(X=np.zeros((12, 5, 5), np.uint8)), UploadLimits(max_images=11),
                       "above the limit of 11 (max_images"),
    "max_image_side zip": ("d.zip", class_zip(), UploadLimits(max_image_side=5), "larger than 5 px per side"),
    "max_image_side npz": ("d.npz", npz_bytes(X=np.zeros((12, 6, 6), np.uint8)), UploadLimits(max_image_side=5),
                           "larger than 5 px per side"),
    "max_image_pixels": ("d.zip", class_zip(), UploadLimits(max_image_pixels=29), "above the limit of 29"),
    "max_zip_entries": ("d.zip", class_zip(), UploadLimits(max_zip_entries=5), "lists about 12 entries, above the limit of 5"),
    "max_zip_uncompressed": ("d.zip", class_zip(), UploadLimits(max_zip_uncompressed=100),
                             "above the limit of 0.000 MB (max_zip_uncompressed"),
    "max_values": ("d.zip", class_zip(), UploadLimits(max_values=100), "above the limit of 100 (max_values"),
    "min_rows": ("d.zip", class_zip(n=5), UploadLimits(min_rows=11), "holds 10 images; adlab needs at least 11"),
    "mat too big": ("d.mat", good_mat(), UploadLimits(max_zip_uncompressed=100), "X and y take 0.001 MB in memory"),
}


@pytest.mark.parametrize("case", list(LIMIT_CASES), ids=list(LIMIT_CASES))
def test_limits_are_enforced_and_named(case):
    name, data, limits, fragment = LIMIT_CASES[case]
    with pytest.raises(DataError) as info:
        load_upload(name, data, limits=limits)
    assert fragment in str(info.value), str(info.value)
    assert load_upload(name, data).X.size > 0  # the same file is fine under the default limits


def test_zip_with_too_many_entries_is_refused_before_parsing_its_directory():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(30_000):
            zf.writestr(f"a/{i}.png", b"")
    _refused_quickly("many.zip", buf.getvalue(), "lists about 30000 entries, above the limit of 25000")


def test_default_limits_match_the_documented_values():
    assert LIMITS.max_bytes == 50 * 2**20
    assert (LIMITS.max_rows, LIMITS.max_features, LIMITS.max_images, LIMITS.max_image_side) == (200_000, 4_096, 20_000, 512)
    assert (LIMITS.max_zip_entries, LIMITS.max_zip_uncompressed, LIMITS.min_rows) == (25_000, 512 * 2**20, 10)


def test_upload_limit_matches_streamlit_config(repo_root):
    import tomllib

    config = tomllib.loads((repo_root / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == LIMITS.max_bytes


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="max_rows must be a positive number"):
        UploadLimits(max_rows=0)
    with pytest.raises(ValueError, match="image_size"):
        load_upload("d.zip", class_zip(), image_size=10_000)
    with pytest.raises(ValueError, match="label_column"):
        load_upload("d.csv", numeric_csv(), label_column=3)
    with pytest.raises(TypeError, match="bytes"):
        load_upload("d.csv", "a,b\n1,2\n")


@pytest.mark.parametrize(
    "name, builder",
    [("d.csv", numeric_csv), ("d.npz", good_npz), ("d.npy", good_npy), ("d.mat", good_mat), ("d.zip", class_zip)],
)
def test_damaged_files_only_ever_raise_data_error(name, builder):
    """Cut and corrupt each good file in many places: the loader either succeeds or raises DataError."""
    good = builder()
    rng = np.random.default_rng(1)
    variants = [good[:k] for k in np.linspace(1, len(good) - 1, 12).astype(int)]
    for _ in range(12):
        bad = bytearray(good)
        at = rng.integers(0, len(bad), size=4)
        bad[at[0] : at[0] + 8] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()[: len(bad) - at[0]]
        variants.append(bytes(bad))
    for data in variants:
        try:
            up = load_upload(name, data)
        except DataError:
            continue
        assert up.X.dtype == np.float32 and np.isfinite(up.X).all()
