"""The upload in Korean and English: every message the loaders give about a file is said from the catalogues,
and the sidebar's "Your data" shows the reader's language (the CLI keeps English).

The loaders' errors are checked on the bad files ``tests/test_upload.py`` builds: each carries a catalogue
key (``DataError.say``) whose English text is exactly ``str(err)``, and its Korean holds no English sentence.
The sidebar is run through AppTest with a stand-in for the file uploader (AppTest cannot upload a file):
the real widget is drawn, and the script is handed a file as if the reader had dropped it.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import i18n_probe
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from adlab import i18n
from adlab.data import (
    DataError,
    Dataset,
    goad_split,
    goad_tabular_split,
    load_mnist_idx,
    load_torchvision,
    load_upload,
    one_class_split,
)
from adlab.data.split import GOAD_SPLITS, goad_split_note
from adlab.data.types import Text
from tests.test_upload import (
    BAD,
    LIMIT_CASES,
    class_zip,
    csv_bytes,
    good_mat,
    good_npz,
    gray,
    image_bytes,
    numeric_csv,
    zip_bytes,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "adlab" / "data" / f"{name}.py" for name in
           ("types", "upload", "upload_base", "upload_tables", "upload_arrays", "upload_images", "split", "images",
            "toy")] + [ROOT / "pages" / "_upload.py"]
CASES = {**{f"bad: {k}": (n, d, kw, None) for k, (n, d, kw, _) in BAD.items()},
         **{f"limit: {k}": (n, d, {}, lim) for k, (n, d, lim, _) in LIMIT_CASES.items()}}


def _refusal(case: str) -> DataError:
    name, data, kwargs, limits = CASES[case]
    with pytest.raises(DataError) as info:
        load_upload(name, data, **kwargs, **({"limits": limits} if limits is not None else {}))
    return info.value


def _keys(text) -> list[str]:
    """The catalogue keys of a text and of every piece in its fields."""
    key = getattr(text, "text_key", None)
    if not isinstance(key, str):
        return []
    return [key, *(k for value in dict(text.text_fields).values() for k in _keys(value))]


def _has_library_detail(text) -> bool:
    """A message that quotes a library's own error (zipfile, numpy, pandas...): that part stays English."""
    return "err" in getattr(text, "text_fields", {}) or any(_has_library_detail(v) for v in text.text_fields.values()
                                                           if hasattr(v, "text_fields"))


# ----------------------------------------------------------------------------- the messages
@pytest.mark.parametrize("case", list(CASES))
def test_every_refusal_is_said_from_both_catalogues_and_its_english_is_unchanged(case):
    err = _refusal(case)
    assert isinstance(err.text_key, str) and err.text_key.startswith("upload."), f"{case}: a plain DataError"
    english, korean = i18n.catalogue("en"), i18n.catalogue("ko")
    for key in _keys(err):
        assert key in english and key in korean, key
    assert i18n.message(err, "en") == str(err)
    assert i18n.message(err, "en") == str(err), "English in the app is what the CLI prints"
    said = i18n.message(err, "ko")
    assert i18n_probe.HANGUL.search(said), said
    if not _has_library_detail(err):
        assert not i18n_probe.is_english(said), said


def test_i18n_message_says_the_pieces_of_a_message_in_the_same_language():
    """A message built from pieces (what the file looks like, which row) is Korean throughout, as the app
    shows it with ``adlab.i18n.message`` (which must say a ``Text`` field in the language of its sentence)."""
    err = _refusal("bad: png as csv")  # "{name}: looks like {desc}, not {what}; {advice}"
    assert {"desc", "what", "advice"} <= set(err.text_fields)
    said = i18n.message(err, "ko")
    assert said == i18n.message(err, "ko")
    assert "PNG 이미지" in said and "CSV 텍스트" in said and "looks like" not in said and "a PNG image" not in said


def test_a_plain_data_error_still_works_and_a_keyed_one_pickles():
    plain = DataError("something only a developer reads")
    assert str(plain) == "something only a developer reads" and plain.text_key is None and not plain.text_fields
    assert i18n.message(plain, "ko") == str(plain)
    keyed = _refusal("bad: text in numeric column")
    back = pickle.loads(pickle.dumps(keyed))
    assert str(back) == str(keyed) and back.text_key == keyed.text_key
    assert i18n.message(back, "ko") == i18n.message(keyed, "ko")


def test_every_key_the_code_names_is_in_both_catalogues():
    english, korean = i18n.catalogue("en"), i18n.catalogue("ko")
    named = {key for path in SOURCES for key in re.findall(r"""["'](upload\.[a-z0-9_.]+[a-z0-9_])["']""",
                                                             path.read_text(encoding="utf-8"))}
    assert len(named) > 150
    assert not sorted(k for k in named if k not in english or k not in korean)


def test_the_notes_and_the_description_of_good_files_are_said_in_korean():
    tables = csv_bytes(["x", "colour", "empty", "label"], [[i, "rgb"[i % 3], "", i % 2] for i in range(30)])
    uploads = [load_upload("t.csv", tables), load_upload("c.zip", class_zip()), load_upload("d.npz", good_npz()),
               load_upload("m.mat", good_mat()), load_upload("n.csv", numeric_csv(), label_column=None),
               load_upload("f.zip", class_zip("top/"))]
    for up in uploads:
        assert up.describe() == up.describe("en") and isinstance(up.describe(), Text)
        korean = up.describe("ko")
        assert i18n_probe.HANGUL.search(korean) and korean != up.describe(), korean
        for note in up.notes:
            assert isinstance(note, Text), note
            said = i18n.message(note, "ko")
            assert i18n_probe.HANGUL.search(said), said
            assert not i18n_probe.is_english(said.replace("colour", "")), said  # a column's own name is data
    table = uploads[0]
    assert "레이블" in table.preview_rows(2, lang="ko") and "label (y)" in load_upload(
        "l.csv", csv_bytes(["label", "y"], [[i, i % 2] for i in range(12)]), label_column="y").preview_rows(2)
    unlabelled = load_upload("u.zip", zip_bytes({f"{i}.png": image_bytes(gray(i)) for i in range(10)}))
    assert {c for c, _ in unlabelled.thumbnails(1, lang="ko")} == {"레이블 없음"}
    with pytest.raises(DataError) as info:
        unlabelled.to_dataset()
    assert i18n_probe.HANGUL.search(i18n.message(info.value, "ko"))


def test_the_split_errors_and_goads_protocol_note_are_said_in_korean():
    four = Dataset(X=np.zeros((60, 2), np.float32), y=np.arange(60) % 4, class_names=("a", "b", "c", "d"),
                   name="four", kind="tabular")
    tiny = Dataset(X=np.zeros((10, 2), np.float32), y=np.array([0] * 9 + [1]), class_names=("a", "b"), name="tiny",
                   kind="tabular")
    calls = [lambda: one_class_split(four, []), lambda: one_class_split(four, [0, 1], [1]),
             lambda: one_class_split(four, [0, 1, 2, 3]), lambda: one_class_split(four, "zzz"),
             lambda: one_class_split(four, 9), lambda: one_class_split(tiny, ["a"], ["b"], contamination=0.45),
             lambda: one_class_split(tiny, ["b"], ["a"], train_fraction=0.01),
             lambda: one_class_split(tiny, ["a"], ["b"], seed=2), lambda: goad_split(tiny, ["b"]),
             lambda: goad_split(four, []), lambda: goad_split(four, [0, 1, 2, 3]),
             lambda: goad_tabular_split(np.zeros((3, 2)), np.zeros(2)),
             lambda: goad_tabular_split(np.zeros((3, 2)), np.array([0, 1, 2]))]
    for call in calls:
        with pytest.raises(DataError) as info:
            call()
        err = info.value
        assert err.text_key and err.text_key.startswith("upload.split.")
        assert i18n.message(err, "en") == str(err)
        said = i18n.message(err, "ko")
        assert i18n_probe.HANGUL.search(said) and not i18n_probe.is_english(said), said
    for split in GOAD_SPLITS:
        assert goad_split_note(split) == goad_split_note(split, "en") and GOAD_SPLITS[split] in goad_split_note(split)
        assert i18n_probe.HANGUL.search(goad_split_note(split, "ko"))


def test_the_folder_loaders_errors_are_said_from_the_catalogues(tmp_path):
    """The CLI's image folders (MNIST IDX files, torchvision's layout): English for the CLI, Korean on request."""
    calls = [lambda: load_mnist_idx(tmp_path / "nope"), lambda: load_mnist_idx(tmp_path, "train"),
             lambda: load_torchvision("mnist", "", True), lambda: load_torchvision("mnist", str(tmp_path / "x"), True),
             lambda: load_torchvision("fashion-mnist", str(tmp_path), False)]
    for call in calls:
        with pytest.raises(DataError) as info:
            call()
        err = info.value
        assert err.text_key and err.text_key.startswith("upload.folder.")
        assert i18n.message(err, "en") == str(err)
        said = i18n.message(err, "ko")
        assert i18n_probe.HANGUL.search(said) and not i18n_probe.is_english(said.replace(str(tmp_path), "")), said


# ----------------------------------------------------------------------------- the sidebar
def _sidebar(name: str, data: bytes) -> None:
    """The sidebar's "Your data" with ``data`` uploaded as ``name``: the real uploader is drawn, and
    ``st.file_uploader`` hands the script the file (AppTest cannot upload one)."""
    import streamlit as st

    from pages import _upload

    class Uploaded:
        file_id = f"test-{name}"

        def __init__(self) -> None:
            self.name = name

        def getvalue(self) -> bytes:
            return data

    real = st.file_uploader

    def uploader(*args, **kwargs):
        real(*args, **kwargs)
        return Uploaded()

    st.file_uploader = uploader
    try:
        with st.sidebar:
            _upload.sidebar()
    finally:
        st.file_uploader = real


def _run(name: str, data: bytes, lang: str) -> AppTest:
    at = AppTest.from_function(_sidebar, args=(name, data), default_timeout=60)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


BAD_FILE = ("notes.csv", b"")  # "the file is empty (0 bytes); ..."
GOOD_FILE = ("scores.csv", numeric_csv())  # columns a, b, label


def test_the_sidebar_says_a_bad_files_problem_in_korean():
    at = _run(*BAD_FILE, "ko")
    assert [e.value for e in at.error] == [i18n.text("upload.error.empty", "ko", name="notes.csv")]
    assert i18n_probe.english_left(at) == [], i18n_probe.english_left(at)
    assert at.get("file_uploader")[0].proto.label == i18n.text("upload.sidebar.file", "ko")


def test_the_sidebar_says_a_bad_tables_problem_in_korean():
    at = _run("photo.csv", BAD["png as csv"][1], "ko")
    (error,) = at.error
    assert "PNG 이미지" in error.value and "CSV 텍스트" in error.value, error.value
    assert i18n_probe.english_left(at) == [], i18n_probe.english_left(at)


def test_the_sidebar_in_english_says_what_it_said_before():
    at = _run(*BAD_FILE, "en")
    assert [e.value for e in at.error] == [
        "notes.csv: the file is empty (0 bytes); check that it was saved, then upload it again"]
    assert at.sidebar.subheader[0].value == "Your data"
    assert not i18n_probe.hangul_left(at), i18n_probe.hangul_left(at)
    at = _run(*GOOD_FILE, "en")
    assert at.success[0].value == "scores.csv: 20 rows × 2 features, labels from 'label': 0 10, 1 10"
    assert at.selectbox(key="upload_label").label == "Label column"
    assert at.selectbox(key="upload_label").options[:2] == ["(guess)", "(no labels)"]
    assert any("Pick **your file: scores.csv** in the Dataset box" in c.value for c in at.caption)
    assert not i18n_probe.hangul_left(at), i18n_probe.hangul_left(at)


def test_the_sidebar_describes_a_good_file_in_korean():
    at = _run(*GOOD_FILE, "ko")
    assert not at.error, [e.value for e in at.error]
    assert at.success[0].value == "scores.csv: 행 20개 × feature 2개, 레이블은 'label' 열에서: 0 10, 1 10"
    box = at.selectbox(key="upload_label")
    assert box.label == "레이블 열" and box.options[:2] == ["(추측)", "(레이블 없음)"]
    assert box.value == "(guess)", "the value stays the language-neutral code"
    assert any("내 파일: scores.csv" in c.value for c in at.caption)
    assert i18n_probe.english_left(at) == [], i18n_probe.english_left(at)
    zipped = _run("pics.zip", class_zip(), "ko")
    slider = zipped.select_slider(key="upload_size")
    assert slider.label == "이미지 크기 조정" and slider.value == "keep"
    assert i18n_probe.english_left(zipped) == [], i18n_probe.english_left(zipped)


def test_the_label_choice_survives_switching_the_language():
    at = _run(*GOOD_FILE, "en")
    at.selectbox(key="upload_label").set_value("(no labels)").run()
    assert at.success[0].value.endswith(", no labels")
    at.query_params["lang"] = "ko"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="upload_label").value == "(no labels)"
    assert at.success[0].value.endswith(", 레이블 없음")
    assert any("레이블 없음:" in c.value for c in at.caption)
    assert i18n_probe.english_left(at) == [], i18n_probe.english_left(at)
